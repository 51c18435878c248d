/* Unit tests for the double-entry ledger (contrib.c: contrib_ledger_build)
 * and the balance hook (contrib_hook.c). */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "contrib.h"
#include "test_contrib_util.h"

#define T0 (20414LL * 86400)

static const char *conf_two_sites =
	"AccountSite=phys=site_a\n"
	"AccountSite=chem=site_b\n"
	"AccountSite=bio=site_c\n";

static void build(const struct contrib_policy *p, const struct contrib_usage *u,
		  size_t n, struct contrib_usage_result *r, struct contrib_ledger *l)
{
	char err[256];

	if (contrib_compute(p, u, n, r, err, sizeof(err)) ||
	    contrib_ledger_build(p, u, r, n, l, err, sizeof(err)))
		fail_msg("%s", err);
}

static const struct contrib_balance *find_balance(const struct contrib_ledger *l,
						  const char *site)
{
	for (size_t i = 0; i < l->n_balances; i++)
		if (!strcmp(l->balances[i].site, site))
			return &l->balances[i];
	return NULL;
}

/* site_a's account on site_b's node moves the credits from A to B. */
static void test_transfer(void **state)
{
	struct contrib_policy p;
	struct contrib_usage u[4];
	struct contrib_usage_result r[4];
	struct contrib_ledger l;
	const struct contrib_balance *a, *b;

	policy_from_text(&p, conf_two_sites);
	u[0] = usage_rec("c", "n3", "site_b", "phys", 1, 2, 0, 3600, T0 + 3600);  /* A on B */
	u[1] = usage_rec("c", "n1", "site_a", "phys", 2, 2, 0, 3600, T0 + 3600);  /* A at home */
	u[2] = usage_rec("c", "n4", "site_b", "PHYS", 3, 1, 0, 1800, T0 + 3600);  /* A on B */
	u[3] = usage_rec("c", "n9", "site_b", "nobody", 4, 2, 0, 3600, T0 + 3600); /* no home */
	build(&p, u, 4, r, &l);

	assert_int_equal(l.n_entries, 4);
	assert_int_equal(l.entries[0].usage, 0);
	assert_string_equal(l.entries[0].site, "site_a");
	assert_string_equal(l.entries[0].counterparty, "site_b");
	assert_int_equal(l.entries[0].amount, -2000000);
	assert_string_equal(l.entries[1].site, "site_b");
	assert_int_equal(l.entries[1].amount, 2000000);
	assert_int_equal(l.entries[2].usage, 2);
	assert_int_equal(l.entries[3].amount, 500000);

	assert_int_equal(l.n_balances, 2);
	a = find_balance(&l, "site_a");
	b = find_balance(&l, "site_b");
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->spent, 2500000);
	assert_int_equal(a->earned, 0);
	assert_int_equal(a->balance, -2500000);
	assert_int_equal(b->earned, 2500000);
	assert_int_equal(b->balance, 2500000);
	assert_string_equal(l.balances[0].site, "site_a");	/* sorted */

	assert_int_equal(l.n_transfers, 1);
	assert_string_equal(l.transfers[0].from, "site_a");
	assert_string_equal(l.transfers[0].to, "site_b");
	assert_int_equal(l.transfers[0].credits, 2500000);
	assert_int_equal(l.transfers[0].records, 2);

	assert_int_equal(l.n_unassigned, 1);
	assert_string_equal(l.unassigned[0].account, "nobody");
	assert_int_equal(l.unassigned[0].credits, 2000000);
	assert_int_equal(l.unassigned[0].records, 1);
	contrib_ledger_free(&l);
	contrib_policy_free(&p);
}

/* A rejected replica moves nothing: its site earns no credit for it. */
static void test_rejected_moves_nothing(void **state)
{
	struct contrib_policy p;
	struct contrib_usage u[2];
	struct contrib_usage_result r[2];
	struct contrib_ledger l;

	policy_from_text(&p, conf_two_sites);
	u[0] = usage_rec("c", "n3", "site_b", "phys", 1, 2, 0, 3600, T0 + 3600);
	u[1] = usage_rec("c", "n5", "site_c", "phys", 1, 2, 0, 3600, T0 + 3600);
	u[0].steps_agreed = 1;
	u[1].steps_disagreed = 1;
	build(&p, u, 2, r, &l);
	assert_int_equal(l.n_entries, 2);
	assert_string_equal(l.entries[1].site, "site_b");
	assert_int_equal(find_balance(&l, "site_c")->earned, 0);
	assert_int_equal(find_balance(&l, "site_b")->earned, 2000000);
	assert_int_equal(find_balance(&l, "site_a")->spent, 2000000);
	contrib_ledger_free(&l);
	contrib_policy_free(&p);
}

/* The invariant of double entry over many random records: entries, balances
 * and transfers each sum to zero, and every view agrees with the others. */
static void test_invariant(void **state)
{
	static const char *const sites[] = { "site_a", "site_b", "site_c", "site_d" };
	static const char *const accounts[] = { "phys", "chem", "bio", "orphan", "" };
	static const char *const nodes[] = { "n1", "n2", "n3", "n4", "n5", "n6", "n7" };
	enum { N = 20000 };
	struct contrib_policy p;
	struct contrib_usage *u = calloc(N, sizeof(*u));
	struct contrib_usage_result *r = calloc(N, sizeof(*r));
	struct contrib_ledger l;
	uint64_t seed = 42;
	int64_t sum = 0, bsum = 0, tsum = 0, usum = 0, expected_moved = 0;

	assert_non_null(u);
	assert_non_null(r);
	policy_from_text(&p, "AccountSite=phys=site_a\nAccountSite=chem=site_b\n"
			     "AccountSite=bio=site_d\nBillingWeights=cpu=1,gpu=4.25\n");
	for (size_t i = 0; i < N; i++) {
		u[i] = usage_rec("c", nodes[test_rand(&seed) % 7], sites[test_rand(&seed) % 4],
				 accounts[test_rand(&seed) % 5], i, test_rand(&seed) % 64,
				 test_rand(&seed) % 3, test_rand(&seed) % 100000, T0 + 10);
		u[i].steps_agreed = (uint32_t)(test_rand(&seed) % 3);
		u[i].steps_disagreed = (uint32_t)(test_rand(&seed) % 2);
	}
	build(&p, u, N, r, &l);
	for (size_t i = 0; i < l.n_entries; i++)
		sum += l.entries[i].amount;
	for (size_t i = 0; i < l.n_balances; i++) {
		const struct contrib_balance *b = &l.balances[i];

		assert_int_equal(b->balance, b->earned - b->spent);
		assert_true(b->earned >= 0 && b->spent >= 0);
		bsum += b->balance;
		if (i)
			assert_true(strcmp(l.balances[i - 1].site, b->site) < 0);
	}
	for (size_t i = 0; i < l.n_transfers; i++) {
		assert_string_not_equal(l.transfers[i].from, l.transfers[i].to);
		tsum += l.transfers[i].credits;
	}
	for (size_t i = 0; i < N; i++) {
		const char *home = contrib_account_home(&p, u[i].account);

		if (home && strcmp(home, u[i].site))
			expected_moved += (int64_t)r[i].credits;
		if (!home)
			usum += (int64_t)r[i].credits;
	}
	for (size_t i = 0; i < l.n_unassigned; i++)
		usum -= l.unassigned[i].credits;
	assert_int_equal(sum, 0);
	assert_int_equal(bsum, 0);
	assert_int_equal(tsum, expected_moved);
	assert_int_equal(usum, 0);
	assert_true(expected_moved > 0);
	assert_int_equal(l.n_balances, 4);
	/* entries come in pairs of opposite amounts on the same usage record */
	for (size_t i = 0; i < l.n_entries; i += 2) {
		assert_int_equal(l.entries[i].usage, l.entries[i + 1].usage);
		assert_int_equal(l.entries[i].amount, -l.entries[i + 1].amount);
		assert_true(l.entries[i].amount < 0);
	}
	contrib_ledger_free(&l);
	contrib_policy_free(&p);
	free(u);
	free(r);
}

static void test_no_site(void **state)
{
	struct contrib_policy p;
	struct contrib_usage u;
	struct contrib_usage_result r;
	struct contrib_ledger l;
	char err[256];

	policy_from_text(&p, conf_two_sites);
	u = usage_rec("c", "n1", "", "phys", 1, 2, 0, 3600, T0 + 3600);
	assert_int_equal(contrib_compute(&p, &u, 1, &r, err, sizeof(err)), 0);
	assert_int_equal(contrib_ledger_build(&p, &u, &r, 1, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "node n1 has no site"));
	assert_null(l.entries);
	u.site = NULL;
	assert_int_equal(contrib_ledger_build(&p, &u, &r, 1, &l, err, sizeof(err)), -1);
	assert_int_equal(contrib_ledger_build(&p, &u, &r, 0, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n_balances, 0);
	contrib_ledger_free(&l);
	contrib_policy_free(&p);
}

/* --- the balance hook --- */

static void test_hook_plan(void **state)
{
	struct contrib_policy p;
	struct contrib_hook_action *a;
	size_t n;
	/* site_a runs cluster east, site_b west, site_c has nodes on both */
	const struct contrib_cluster_site cs[] = {
		{ "east", "site_a" }, { "west", "site_b" }, { "east", "site_c" },
		{ "west", "site_c" }, { "east", "site_a" },
	};
	struct contrib_site_balance bal[] = {
		{ "site_a", -10000001 }, { "site_b", 5 }, { "site_c", -999999999 },
	};
	const char *blocked[] = { "chem" };

	/* off by default: nothing, whatever the balances */
	policy_from_text(&p, conf_two_sites);
	assert_int_equal(contrib_hook_plan(&p, bal, 3, cs, 5, NULL, 0, &a, &n), 0);
	assert_int_equal(n, 0);
	assert_null(a);
	contrib_policy_free(&p);

	policy_from_text(&p, "AccountSite=phys=site_a\nAccountSite=chem=site_b\n"
			     "AccountSite=bio=site_c\nAccountSite=geo=site_a\n"
			     "BalanceHook=yes\nCreditLimit=10\n");
	assert_int_equal(contrib_hook_plan(&p, bal, 3, cs, 5, blocked, 1, &a, &n), 0);
	/* geo, phys (site_a, 10.000001 credits below zero): blocked on west
	 * only; chem (site_b, back above): unblocked on east; bio (site_c) has
	 * nodes everywhere: no cluster to block it on. */
	assert_int_equal(n, 3);
	assert_string_equal(a[0].account, "chem");
	assert_string_equal(a[0].cluster, "east");
	assert_false(a[0].block);
	assert_string_equal(a[1].account, "geo");
	assert_string_equal(a[1].cluster, "west");
	assert_true(a[1].block);
	assert_string_equal(a[2].account, "phys");
	assert_true(a[2].block);
	free(a);

	/* exactly at the limit is not out of credit; already blocked stays */
	bal[0].balance = -10000000;
	const char *blocked2[] = { "geo" };
	assert_int_equal(contrib_hook_plan(&p, bal, 3, cs, 5, blocked2, 1, &a, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].account, "geo");
	assert_false(a[0].block);
	free(a);
	contrib_policy_free(&p);
}

static void test_hook_argv(void **state)
{
	struct contrib_hook_action act = { "phys", "west", true };
	const char *argv[CONTRIB_HOOK_ARGC + 1];
	char buf[64], small[12];
	char line[256] = "";

	assert_int_equal(contrib_hook_argv(&act, buf, sizeof(buf), argv), 0);
	for (int i = 0; argv[i]; i++) {
		strcat(line, i ? " " : "");
		strcat(line, argv[i]);
	}
	assert_string_equal(line, "sacctmgr -i modify account where name=phys cluster=west "
			    "set GrpTRESMins=cpu=0");
	assert_null(argv[CONTRIB_HOOK_ARGC]);
	act.block = false;
	assert_int_equal(contrib_hook_argv(&act, buf, sizeof(buf), argv), 0);
	assert_string_equal(argv[8], "GrpTRESMins=cpu=-1");
	assert_int_equal(contrib_hook_argv(&act, small, sizeof(small), argv), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transfer),
		cmocka_unit_test(test_rejected_moves_nothing),
		cmocka_unit_test(test_invariant),
		cmocka_unit_test(test_no_site),
		cmocka_unit_test(test_hook_plan),
		cmocka_unit_test(test_hook_argv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
