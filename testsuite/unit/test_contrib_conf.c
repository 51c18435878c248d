/* Unit tests for the contribution keys of quorate.conf (common/qconf.c) and
 * their compiled form (common/contrib_policy.c): site map, account home
 * sites, payees, billing weights, epochs. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "contrib_policy.h"
#include "qconf.h"
#include "test_contrib_util.h"

/* EIP-55's own example addresses (mixed case = checksummed). */
#define ADDR_A "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
#define ADDR_B "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
#define ADDR_BAD "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"	/* last case flipped */

static int load(const char *text, struct quorate_conf *c, char *err, size_t n)
{
	return qconf_load_buffer("quorate.conf", text, strlen(text), c, err, n);
}

static void test_defaults(void **state)
{
	struct quorate_conf c;
	struct contrib_policy p;
	char err[256];

	assert_int_equal(load("", &c, err, sizeof(err)), 0);
	assert_int_equal(c.epoch_length, 86400);
	assert_true(c.billing_weight_cpu == 1.0);
	assert_true(c.billing_weight_gpu == 0.0);
	assert_true(c.billing_weight_node == 0.0);
	assert_int_equal(c.n_site_maps, 0);
	assert_int_equal(c.n_account_sites, 0);
	assert_int_equal(c.n_site_payees, 0);
	assert_int_equal(c.ingest_overlap, 3600);
	assert_false(c.balance_hook);
	assert_true(c.credit_limit == 0);
	assert_int_equal(contrib_policy_from_conf(&p, &c, "quorate.conf", err, sizeof(err)), 0);
	assert_int_equal(p.epoch_length, 86400);
	assert_int_equal(p.weights.cpu, 1000000);
	assert_int_equal(p.weights.gpu, 0);
	assert_int_equal(p.weights.node, 0);
	assert_string_equal(p.site_feature_prefix, "site_");
	contrib_policy_free(&p);
	qconf_free(&c);

	/* contrib_policy_default is the same policy without a file. */
	assert_int_equal(contrib_policy_default(&p), 0);
	assert_int_equal(p.epoch_length, 86400);
	assert_int_equal(p.weights.cpu, 1000000);
	contrib_policy_free(&p);
}

static const char *full_conf =
	"EpochLength=6h\n"
	"BillingWeights=cpu=1.5,gpu=8,node=0.000001\n"
	"SiteMap=east:e[1-4]=site_e\n"
	"SiteMap=east:login=site_e\n"
	"SiteMap=west:w[01-10],gw=site_w\n"
	"AccountSite=Physics=site_e\n"
	"AccountSite=chem=site_w\n"
	"SitePayee=site_e=" ADDR_A "\n"
	"SitePayee=site_w=" "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359" "\n"
	"IngestOverlap=30m\n"
	"BalanceHook=yes\n"
	"CreditLimit=12.5\n";

static void test_settings(void **state)
{
	struct quorate_conf c;
	char err[256];

	assert_int_equal(load(full_conf, &c, err, sizeof(err)), 0);
	assert_int_equal(c.epoch_length, 6 * 3600);
	assert_true(c.billing_weight_cpu == 1.5);
	assert_true(c.billing_weight_gpu == 8);
	assert_true(c.billing_weight_node == 0.000001);
	assert_int_equal(c.n_site_maps, 3);
	assert_string_equal(c.site_maps[0].cluster, "east");
	assert_string_equal(c.site_maps[0].nodes, "e[1-4]");
	assert_string_equal(c.site_maps[0].site, "site_e");
	assert_string_equal(c.site_maps[2].nodes, "w[01-10],gw");
	assert_int_equal(c.n_account_sites, 2);
	assert_string_equal(c.account_sites[0].key, "physics");	/* lower case */
	assert_string_equal(c.account_sites[0].value, "site_e");
	assert_int_equal(c.n_site_payees, 2);
	assert_string_equal(c.site_payees[0].key, "site_e");
	assert_string_equal(c.site_payees[0].value, ADDR_A);
	assert_int_equal(c.ingest_overlap, 1800);
	assert_true(c.balance_hook);
	assert_true(c.credit_limit == 12.5);
	qconf_free(&c);
}

static void test_policy(void **state)
{
	struct contrib_policy p;
	char site[CONTRIB_NAME_MAX], err[256];
	const struct eth_address *a;
	char hex[ETH_ADDRESS_HEX_LEN + 1];

	policy_from_text(&p, full_conf);
	assert_int_equal(p.epoch_length, 21600);
	assert_int_equal(p.ingest_overlap, 1800);
	assert_int_equal(p.weights.cpu, 1500000);
	assert_int_equal(p.weights.gpu, 8000000);
	assert_int_equal(p.weights.node, 1);
	assert_true(p.balance_hook);
	assert_int_equal(p.credit_limit, 12500000);

	/* the site map: features first, then SiteMap of the node's cluster */
	assert_int_equal(contrib_site_of_node(&p, "east", "e3", NULL, site, err, sizeof(err)), 1);
	assert_string_equal(site, "site_e");
	assert_int_equal(contrib_site_of_node(&p, "east", "login", "", site, err, sizeof(err)), 1);
	assert_string_equal(site, "site_e");
	assert_int_equal(contrib_site_of_node(&p, "west", "w07", NULL, site, err, sizeof(err)), 1);
	assert_string_equal(site, "site_w");
	assert_int_equal(contrib_site_of_node(&p, "west", "w7", NULL, site, err, sizeof(err)), 0);
	assert_int_equal(contrib_site_of_node(&p, "west", "e3", NULL, site, err, sizeof(err)), 0);
	assert_int_equal(contrib_site_of_node(&p, "east", "e3", "gpu,site_x,fast", site,
					      err, sizeof(err)), 1);
	assert_string_equal(site, "site_x");
	assert_int_equal(contrib_site_of_node(&p, "east", "e3", "site_x,site_y", site,
					      err, sizeof(err)), -1);
	assert_non_null(strstr(err, "two site features"));

	/* accounts, compared in lower case */
	assert_string_equal(contrib_account_home(&p, "physics"), "site_e");
	assert_string_equal(contrib_account_home(&p, "PHYSICS"), "site_e");
	assert_string_equal(contrib_account_home(&p, "chem"), "site_w");
	assert_null(contrib_account_home(&p, "bio"));
	assert_null(contrib_account_home(&p, NULL));

	/* payees */
	a = contrib_site_payee(&p, "site_e");
	assert_non_null(a);
	eth_address_format(a, hex);
	assert_string_equal(hex, ADDR_A);
	a = contrib_site_payee(&p, "site_w");
	assert_non_null(a);
	eth_address_format(a, hex);
	assert_string_equal(hex, ADDR_B);
	assert_null(contrib_site_payee(&p, "site_z"));
	contrib_policy_free(&p);
}

static void test_site_map_overlap(void **state)
{
	struct contrib_policy p;
	char site[CONTRIB_NAME_MAX], err[256];

	policy_from_text(&p, "SiteMap=c:n[1-4]=site_a\n"
			     "SiteMap=c:n[4-6]=site_b\n"
			     "SiteMap=c:n[1-2]=site_a\n"
			     "SiteFeaturePrefix=zone_\n");
	assert_int_equal(contrib_site_of_node(&p, "c", "n1", NULL, site, err, sizeof(err)), 1);
	assert_string_equal(site, "site_a");
	assert_int_equal(contrib_site_of_node(&p, "c", "n5", NULL, site, err, sizeof(err)), 1);
	assert_string_equal(site, "site_b");
	assert_int_equal(contrib_site_of_node(&p, "c", "n4", NULL, site, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mapped to two sites by SiteMap: site_a and site_b"));
	/* another prefix: site_ is an ordinary feature then */
	assert_int_equal(contrib_site_of_node(&p, "c", "n9", "site_q,zone_9", site,
					      err, sizeof(err)), 1);
	assert_string_equal(site, "zone_9");
	contrib_policy_free(&p);
}

static void check_conf_error(const char *text, const char *want)
{
	struct quorate_conf c;
	char err[512] = "";

	assert_int_equal(load(text, &c, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error '%s' does not say '%s'", err, want);
}

static void test_conf_errors(void **state)
{
	check_conf_error("BillingWeights=cpu=1,cpu=2\n",
			 "quorate.conf:1: BillingWeights: TRES 'cpu' given twice");
	check_conf_error("\nBillingWeights=mem=1\n",
			 "quorate.conf:2: BillingWeights: unknown TRES 'mem' (allowed: cpu, gpu, node)");
	check_conf_error("BillingWeights=cpu=-1\n",
			 "quorate.conf:1: BillingWeights: cpu: -1 is out of range");
	check_conf_error("BillingWeights=cpu=x\n", "BillingWeights: cpu: 'x' is not a number");
	check_conf_error("BillingWeights=cpu\n", "'cpu' is not TRES=WEIGHT");
	check_conf_error("BillingWeights=cpu=1,\n", "trailing ','");
	check_conf_error("BillingWeights=\n", "BillingWeights: empty");
	check_conf_error("BillingWeights=cpu=1\nBillingWeights=gpu=1\n",
			 "quorate.conf:2: BillingWeights given twice");
	check_conf_error("SiteMap=n[1-4]=site_a\n",
			 "quorate.conf:1: SiteMap: 'n[1-4]=site_a' is not CLUSTER:NODELIST=SITE");
	check_conf_error("SiteMap=c 1:n1=site_a\n", "cluster 'c 1' is not a cluster name");
	check_conf_error("SiteMap=c:n1=site a\n", "site 'site a' is not a site name");
	check_conf_error("SiteMap=c:=site_a\n", "empty node list");
	check_conf_error("SiteMap=c:n[1-2=site_a\n", "'[' without ']'");
	check_conf_error("SiteMap=c:n/1=site_a\n", "unexpected '/'");
	check_conf_error("SiteMap=c:n1=site_a\n# twice\nSiteMap=c:n1=site_b\n",
			 "quorate.conf:3: SiteMap: c:n1 is mapped twice");
	check_conf_error("AccountSite=physics\n", "'physics' is not ACCOUNT=SITE");
	check_conf_error("AccountSite=phy sics=site_a\n", "account 'phy sics' is not an account name");
	check_conf_error("AccountSite=physics=site_a\nAccountSite=Physics=site_b\n",
			 "quorate.conf:2: AccountSite: account 'physics' already has home site 'site_a'");
	check_conf_error("SitePayee=site_a=0x1234\n",
			 "quorate.conf:1: SitePayee: '0x1234' is not an address");
	check_conf_error("SitePayee=site_a=" ADDR_A "\nSitePayee=site_a=" ADDR_B "\n",
			 "quorate.conf:2: SitePayee: site 'site_a' already has a payee");
	check_conf_error("SitePayee=" ADDR_A "\n", "is not SITE=0xADDRESS");
	check_conf_error("EpochLength=7h\n", "EpochLength (25200s) neither divides a day");
	check_conf_error("EpochLength=30\n", "EpochLength: 30 is out of range");
	check_conf_error("IngestOverlap=8d\n", "IngestOverlap: 691200 is out of range");
	check_conf_error("CreditLimit=-1\n", "CreditLimit: -1 is out of range");
	check_conf_error("BalanceHook=maybe\n", "BalanceHook: 'maybe' is not a boolean");
}

static void test_conf_lengths(void **state)
{
	struct quorate_conf c;
	char err[256];
	static const char *const ok[] = { "EpochLength=1m\n", "EpochLength=1h\n",
		"EpochLength=8h\n", "EpochLength=2d\n", "EpochLength=366d\n" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (load(ok[i], &c, err, sizeof(err)))
			fail_msg("%s: %s", ok[i], err);
		qconf_free(&c);
	}
}

/* What qconf cannot check (it is built into the select plugin without the
 * hostlist and Keccak code): the policy compiler does, naming the entry. */
static void check_policy_error(const char *text, const char *want)
{
	struct quorate_conf c;
	struct contrib_policy p;
	char err[512] = "";

	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	assert_int_equal(contrib_policy_from_conf(&p, &c, "quorate.conf", err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error '%s' does not say '%s'", err, want);
	qconf_free(&c);
}

static void test_policy_errors(void **state)
{
	check_policy_error("SiteMap=c:n[4-1]=site_a\n",
			   "quorate.conf: SiteMap=c:n[4-1]=site_a: 'n[4-1]': range 4-1 runs backwards");
	check_policy_error("SiteMap=c:n[1-2][3]=site_a\n", "only one [...] group");
	check_policy_error("SiteMap=c:n1=site_a\nSiteMap=c:n,,m=site_a\n",
			   "SiteMap=c:n,,m=site_a: empty name");
	check_policy_error("SitePayee=site_a=" ADDR_BAD "\n",
			   "quorate.conf: SitePayee=site_a=" ADDR_BAD
			   ": mixed-case address with a bad EIP-55 checksum");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_site_map_overlap),
		cmocka_unit_test(test_conf_errors),
		cmocka_unit_test(test_conf_lengths),
		cmocka_unit_test(test_policy_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
