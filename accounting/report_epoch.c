/*
 * quorate report --by epoch: every closed epoch of the period, as quorated's
 * store holds it (root, records, totals, credits, the outbox's transaction)
 * next to what the chain says now: the ledger's root, checked against the
 * root recomputed from the store (chain_reconcile, eth_call), and what the
 * RewardVault paid out for the epoch.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "contrib_epoch.h"
#include "quorate_chain.h"
#include "report.h"
#include "report_fmt.h"

struct epoch_row {
	struct chain_outbox_row o;		/* o.e: the epochs row; o.state "" if not queued */
	int64_t start, end;
	double cpu_h, gpu_h;
	double earned, spent;			/* credits; NaN without a ledger row */
	struct chain_reconciliation rec;
	bool vault_known;
	struct chain_vault_epoch vault;
	char vault_error[600];
};

struct epoch_report {
	const struct report *r;			/* period and cluster */
	int64_t length;
	struct epoch_row *rows;
	size_t n;
	char chain_note[800];			/* the chain could not be asked at all */
	bool ledger_table;			/* contrib_ledger exists */
};

static const char *const asset_names[] = { "", "ETH", "token" };

static double u256_hours(const struct u256 *x)
{
	char dec[U256_DEC_LEN + 1];

	u256_to_dec(x, dec);
	return strtod(dec, NULL) / 3600;
}

static void hex32_of(const uint8_t b[32], char out[BYTES32_HEX_LEN + 1])
{
	bytes32_format(b, out);
}

/* Credits earned and spent per epoch from the contrib ledger (schema 003). */
static int read_credits(PGconn *db, struct epoch_report *er, int64_t first, int64_t last,
			char *err, size_t errlen)
{
	char a[24], b[24];
	const char *p[] = { a, b };
	PGresult *res = PQexec(db, "SELECT to_regclass('contrib_ledger') IS NOT NULL");
	bool exists = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		      !strcmp(PQgetvalue(res, 0, 0), "t");

	PQclear(res);
	er->ledger_table = exists;
	if (!exists)
		return 0;
	snprintf(a, sizeof(a), "%" PRId64, first);
	snprintf(b, sizeof(b), "%" PRId64, last);
	res = PQexecParams(db, "SELECT epoch, "
			   "coalesce(sum(amount) FILTER (WHERE kind = 'earned'), 0) / 1e6, "
			   "coalesce(-sum(amount) FILTER (WHERE kind = 'spent'), 0) / 1e6 "
			   "FROM contrib_ledger WHERE epoch BETWEEN $1 AND $2 GROUP BY epoch",
			   2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "database: contrib_ledger: %s", PQerrorMessage(db));
		err[strcspn(err, "\n")] = '\0';
		PQclear(res);
		return -1;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t e = strtoll(PQgetvalue(res, i, 0), NULL, 10);

		for (size_t k = 0; k < er->n; k++)
			if (er->rows[k].o.e.epoch == e) {
				er->rows[k].earned = strtod(PQgetvalue(res, i, 1), NULL);
				er->rows[k].spent = strtod(PQgetvalue(res, i, 2), NULL);
			}
	}
	PQclear(res);
	return 0;
}

/* Read the store and ask the chain.  -1 with ERR when the database fails. */
static int epoch_report_read(struct epoch_report *er, struct chain_session *s,
			     char *err, size_t errlen)
{
	const struct report *r = er->r;
	struct chain_outbox_row *rows = NULL;
	uint64_t first = 0, last = 0;
	size_t n = 0;

	if (r->to <= 0)
		return 0;
	if (r->from > 0 && contrib_epoch_of(r->from, er->length, &first))
		first = 0;
	if (contrib_epoch_of(r->to - 1, er->length, &last) || last > INT64_MAX)
		return 0;
	if (chain_store_epochs_range(s->db, (int64_t)first, (int64_t)last, &rows, &n, err, errlen))
		return -1;
	if (n && !(er->rows = calloc(n, sizeof(*er->rows)))) {
		chain_rows_free(rows, n);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct epoch_row *row = &er->rows[i];

		row->o = rows[i];
		free(row->o.raw_tx);
		row->o.raw_tx = NULL;
		contrib_epoch_bounds((uint64_t)row->o.e.epoch, er->length, &row->start, &row->end);
		row->cpu_h = u256_hours(&row->o.e.cpu_seconds);
		row->gpu_h = u256_hours(&row->o.e.gpu_seconds);
		row->earned = row->spent = NAN;
	}
	free(rows);
	er->n = n;
	if (read_credits(s->db, er, (int64_t)first, (int64_t)last, err, errlen))
		return -1;
	if (!s->rpc)
		snprintf(er->chain_note, sizeof(er->chain_note),
			 "Chain: not asked (%s); Reconciled and Rewards are unknown.", s->chain_problem);
	for (size_t i = 0; i < er->n; i++) {
		struct epoch_row *row = &er->rows[i];
		struct jsonrpc_error e;

		if (chain_reconcile(s, &row->o.e, &row->rec, err, errlen))
			return -1;
		if (!s->rpc)
			continue;
		if (!chain_vault_epoch(s, (uint64_t)row->o.e.epoch, &row->vault, &e))
			row->vault_known = true;
		else
			snprintf(row->vault_error, sizeof(row->vault_error), "%s", e.message);
	}
	return 0;
}

/* ---- values as text, shared by every format ---- */

struct epoch_text {
	char epoch[24], start[40], end[40], records[16], cpu[32], gpu[32], earned[32], spent[32];
	char root[BYTES32_HEX_LEN + 1], tx[BYTES32_HEX_LEN + 1], block[24];
	char asset[8], funded[U256_DEC_LEN + 1], paid[U256_DEC_LEN + 1];
	const char *state, *reconciled;
};

static void epoch_text(const struct epoch_row *row, struct epoch_text *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->epoch, sizeof(t->epoch), "%" PRId64, row->o.e.epoch);
	report_iso_time((time_t)row->start, t->start, sizeof(t->start));
	report_iso_time((time_t)row->end, t->end, sizeof(t->end));
	snprintf(t->records, sizeof(t->records), "%u", row->o.e.records);
	report_fmt_number(row->cpu_h, 6, t->cpu, sizeof(t->cpu));
	report_fmt_number(row->gpu_h, 6, t->gpu, sizeof(t->gpu));
	report_fmt_number(row->earned, 2, t->earned, sizeof(t->earned));
	report_fmt_number(row->spent, 2, t->spent, sizeof(t->spent));
	hex32_of(row->o.e.root, t->root);
	if (row->o.has_tx)
		hex32_of(row->o.tx_hash, t->tx);
	if (row->o.has_block)
		snprintf(t->block, sizeof(t->block), "%" PRIu64, row->o.block_number);
	t->state = row->o.state[0] ? row->o.state : "not queued";
	if (row->vault_known) {
		snprintf(t->asset, sizeof(t->asset), "%s", asset_names[row->vault.asset]);
		u256_to_dec(&row->vault.funded, t->funded);
		u256_to_dec(&row->vault.paid, t->paid);
	}
	t->reconciled = chain_reconciled_name(row->rec.verdict);
}

static const char *const epoch_headers[] = {
	"Epoch", "Period Start", "Period End", "Records", "CPU Hours [h]", "GPU Hours [h]",
	"Credits Earned [credits]", "Credits Spent [credits]", "Merkle Root", "Chain State",
	"Transaction Hash", "Block", "Reward Asset", "Rewards Funded [base units]",
	"Rewards Paid [base units]", "Reconciled", "Reconciliation Detail",
};
#define EPOCH_NCOLS (sizeof(epoch_headers) / sizeof(epoch_headers[0]))

static void epoch_fields(const struct epoch_row *row, const struct epoch_text *t,
			 const char *f[EPOCH_NCOLS])
{
	const char *v[EPOCH_NCOLS] = {
		t->epoch, t->start, t->end, t->records, t->cpu, t->gpu, t->earned, t->spent,
		t->root, t->state, t->tx, t->block, t->asset, t->funded, t->paid, t->reconciled,
		row->rec.detail,
	};

	memcpy(f, v, sizeof(v));
}

/* "0x1234abcd…89ef": a hash that fits a terminal. */
static void abbrev(const char *h, char *out, size_t len)
{
	if (strlen(h) > 16)
		snprintf(out, len, "%.10s..%s", h, h + strlen(h) - 4);
	else
		snprintf(out, len, "%s", h);
}

static int write_table(FILE *f, const struct epoch_report *er)
{
	static const char *const h[] = { "Epoch", "Period Start", "Records", "CPU Hours [h]",
		"GPU Hours [h]", "Credits Earned", "Credits Spent", "Merkle Root", "Chain State",
		"Transaction", "Block", "Rewards Paid", "Reconciled" };
	enum { NC = sizeof(h) / sizeof(h[0]) };
	int w[NC];
	char cells[NC][128];

	for (size_t c = 0; c < NC; c++)
		w[c] = (int)strlen(h[c]);
	for (int pass = 0; pass < 2; pass++) {
		if (pass)
			for (size_t c = 0; c < NC; c++)
				fprintf(f, c ? "  %*s" : "%-*s", w[c], h[c]);
		if (pass)
			fputc('\n', f);
		for (size_t i = 0; i < er->n; i++) {
			struct epoch_text t;

			epoch_text(&er->rows[i], &t);
			snprintf(cells[0], 128, "%s", t.epoch);
			snprintf(cells[1], 128, "%.10s", t.start);
			snprintf(cells[2], 128, "%s", t.records);
			snprintf(cells[3], 128, "%s", t.cpu);
			snprintf(cells[4], 128, "%s", t.gpu);
			snprintf(cells[5], 128, "%s", t.earned);
			snprintf(cells[6], 128, "%s", t.spent);
			abbrev(t.root, cells[7], 128);
			snprintf(cells[8], 128, "%s", t.state);
			abbrev(t.tx, cells[9], 128);
			snprintf(cells[10], 128, "%s", t.block);
			if (er->rows[i].vault_known && !er->rows[i].vault.asset)
				snprintf(cells[11], 128, "not funded");
			else if (er->rows[i].vault_known)
				snprintf(cells[11], 128, "%s %s", t.paid,
					 er->rows[i].vault.asset == 1 ? "wei" : t.asset);
			else
				snprintf(cells[11], 128, "unknown");
			snprintf(cells[12], 128, "%s", t.reconciled);
			for (size_t c = 0; c < NC; c++) {
				if (!pass && (int)strlen(cells[c]) > w[c])
					w[c] = (int)strlen(cells[c]);
				if (pass)
					fprintf(f, c ? "  %*s" : "%-*s", w[c], cells[c]);
			}
			if (pass)
				fputc('\n', f);
		}
	}
	for (size_t i = 0; i < er->n; i++) {
		const struct epoch_row *row = &er->rows[i];

		if (row->rec.detail[0])
			fprintf(f, "# epoch %" PRId64 ": %s: %s\n", row->o.e.epoch,
				chain_reconciled_name(row->rec.verdict), row->rec.detail);
		if (!row->vault_known && row->vault_error[0])
			fprintf(f, "# epoch %" PRId64 ": rewards unknown: %s\n", row->o.e.epoch,
				row->vault_error);
	}
	if (er->chain_note[0])
		fprintf(f, "# %s\n", er->chain_note);
	if (!er->n)
		fprintf(f, "# No epoch of this period is closed.\n");
	return ferror(f) ? -1 : 0;
}

static int write_csv(FILE *f, const struct epoch_report *er)
{
	for (size_t c = 0; c < EPOCH_NCOLS; c++) {
		if (c)
			fputc(',', f);
		report_csv_field(f, epoch_headers[c]);
	}
	fputs("\r\n", f);
	for (size_t i = 0; i < er->n; i++) {
		struct epoch_text t;
		const char *v[EPOCH_NCOLS];

		epoch_text(&er->rows[i], &t);
		epoch_fields(&er->rows[i], &t, v);
		for (size_t c = 0; c < EPOCH_NCOLS; c++) {
			if (c)
				fputc(',', f);
			report_csv_field(f, v[c]);
		}
		fputs("\r\n", f);
	}
	return ferror(f) ? -1 : 0;
}

static json_object *str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

static int write_json(FILE *f, const struct epoch_report *er)
{
	json_object *top = json_object_new_object(), *rows = json_object_new_array();
	char from[40], to[40];
	int rv;

	if (!top || !rows) {
		json_object_put(top);
		json_object_put(rows);
		return -1;
	}
	report_iso_time(er->r->from, from, sizeof(from));
	report_iso_time(er->r->to, to, sizeof(to));
	json_object_object_add(top, "from", json_object_new_string(from));
	json_object_object_add(top, "to", json_object_new_string(to));
	json_object_object_add(top, "by", json_object_new_string("epoch"));
	json_object_object_add(top, "epoch_length", json_object_new_int64(er->length));
	if (er->chain_note[0])
		json_object_object_add(top, "chain_note", json_object_new_string(er->chain_note));
	for (size_t i = 0; i < er->n; i++) {
		const struct epoch_row *row = &er->rows[i];
		json_object *o = json_object_new_object();
		struct epoch_text t;

		epoch_text(row, &t);
		json_object_object_add(o, "epoch", json_object_new_int64(row->o.e.epoch));
		json_object_object_add(o, "period_start", json_object_new_string(t.start));
		json_object_object_add(o, "period_end", json_object_new_string(t.end));
		json_object_object_add(o, "records", json_object_new_int64(row->o.e.records));
		json_object_object_add(o, "cpu_hours", json_object_new_double(row->cpu_h));
		json_object_object_add(o, "gpu_hours", json_object_new_double(row->gpu_h));
		json_object_object_add(o, "credits_earned", isnan(row->earned) ? NULL :
				       json_object_new_double(row->earned));
		json_object_object_add(o, "credits_spent", isnan(row->spent) ? NULL :
				       json_object_new_double(row->spent));
		json_object_object_add(o, "root", json_object_new_string(t.root));
		json_object_object_add(o, "chain_state", json_object_new_string(t.state));
		json_object_object_add(o, "tx_hash", str_or_null(t.tx));
		json_object_object_add(o, "block", row->o.has_block ?
				       json_object_new_int64((int64_t)row->o.block_number) : NULL);
		/* Amounts as decimal strings: wei do not fit a double. */
		json_object_object_add(o, "reward_asset", row->vault_known ?
				       json_object_new_string(row->vault.asset ? t.asset : "none") : NULL);
		json_object_object_add(o, "rewards_funded", row->vault_known ?
				       json_object_new_string(t.funded) : NULL);
		json_object_object_add(o, "rewards_paid", row->vault_known ?
				       json_object_new_string(t.paid) : NULL);
		if (!row->vault_known && row->vault_error[0])
			json_object_object_add(o, "rewards_error",
					       json_object_new_string(row->vault_error));
		json_object_object_add(o, "reconciled", json_object_new_string(t.reconciled));
		json_object_object_add(o, "detail", str_or_null(row->rec.detail));
		json_object_array_add(rows, o);
	}
	json_object_object_add(top, "rows", rows);
	rv = fprintf(f, "%s\n", json_object_to_json_string_ext(top, JSON_C_TO_STRING_PRETTY)) < 0;
	json_object_put(top);
	return rv ? -1 : 0;
}

static int write_html(FILE *f, const struct epoch_report *er)
{
	const char **labels = calloc(er->n + 1, sizeof(char *));
	char (*names)[24] = calloc(er->n + 1, sizeof(*names));
	double *cpu = calloc(er->n + 1, sizeof(double)), *earned = calloc(er->n + 1, sizeof(double));
	char from[40], to[40];
	bool credits = false;
	int rv = -1;

	if (!labels || !names || !cpu || !earned)
		goto out;
	report_iso_time(er->r->from, from, sizeof(from));
	report_iso_time(er->r->to, to, sizeof(to));
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<title>quorate report by epoch</title>\n<style>%s"
		"td.h{font-family:monospace;font-size:.85em;word-break:break-all}"
		"td.no{background:#fdd}td.yes{background:#dfd}</style></head><body>\n"
		"<h1>quorate report: epochs</h1>\n<p>Period %s to %s; epochs of %" PRId64
		" s.</p>\n", report_html_css, from, to, er->length);
	fputs("<table><thead><tr>", f);
	for (size_t c = 0; c < EPOCH_NCOLS; c++) {
		fputs("<th>", f);
		report_xml_text(f, epoch_headers[c]);
		fputs("</th>", f);
	}
	fputs("</tr></thead><tbody>\n", f);
	for (size_t i = 0; i < er->n; i++) {
		const struct epoch_row *row = &er->rows[i];
		struct epoch_text t;
		const char *v[EPOCH_NCOLS];

		epoch_text(row, &t);
		epoch_fields(row, &t, v);
		fputs("<tr>", f);
		for (size_t c = 0; c < EPOCH_NCOLS; c++) {
			const char *cls = c == 8 || c == 10 ? "h" :
					  c == 15 && row->rec.verdict == RECONCILED_YES ? "yes" :
					  c == 15 && row->rec.verdict == RECONCILED_NO ? "no" :
					  (c >= 3 && c <= 7) || c == 11 || c == 13 || c == 14 ? "n" : NULL;

			fprintf(f, cls ? "<td class=\"%s\">" : "<td>", cls);
			report_xml_text(f, v[c]);
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
		snprintf(names[i], sizeof(names[i]), "%s", t.epoch);
		labels[i] = names[i];
		cpu[i] = row->cpu_h;
		earned[i] = isnan(row->earned) ? 0 : row->earned;
		credits |= !isnan(row->earned);
	}
	fputs("</tbody></table>\n", f);
	if (er->n) {
		struct svg_chart c = {
			.title = credits ? "Contributed CPU hours and credits earned per epoch" :
					   "Contributed CPU hours per epoch",
			.y_label = credits ? "CPU hours / credits" : "CPU hours",
			.n = er->n, .labels = labels, .nseries = credits ? 2 : 1,
			.series_names = { "CPU hours", "credits earned" },
			.values = { cpu, earned }, .width = 900, .height = 340,
		};

		fputs("<h2>Contributions per epoch</h2>\n", f);
		if (svg_bar_chart(f, &c))
			goto out;
	} else {
		fputs("<p class=\"note\">No epoch of this period is closed.</p>\n", f);
	}
	if (er->chain_note[0]) {
		fputs("<p class=\"note\">", f);
		report_xml_text(f, er->chain_note);
		fputs("</p>\n", f);
	}
	fputs("</body></html>\n", f);
	rv = ferror(f) ? -1 : 0;
out:
	free(labels);
	free(names);
	free(cpu);
	free(earned);
	return rv;
}

int report_by_epoch(const struct report *r, enum report_format fmt, FILE *f,
		    const struct quorate_conf *conf, int timeout_s)
{
	struct epoch_report er = { .r = r, .length = conf->epoch_length };
	struct chain_session s;
	char err[512];
	int rc, rv = 3;

	if (!conf->database || !*conf->database) {
		fprintf(stderr, "quorate: error: report: --by epoch reads quorated's database: "
			"quorate.conf sets no Database\n");
		return 3;
	}
	rc = chain_session_open(&s, conf, timeout_s, false, err, sizeof(err));
	if (rc != CHAIN_EXIT_OK) {
		fprintf(stderr, "quorate: error: report: %s\n", err);
		goto out;
	}
	if (epoch_report_read(&er, &s, err, sizeof(err))) {
		fprintf(stderr, "quorate: error: report: %s\n", err);
		goto out;
	}
	switch (fmt) {
	case FMT_TABLE: rv = write_table(f, &er); break;
	case FMT_CSV: rv = write_csv(f, &er); break;
	case FMT_JSON: rv = write_json(f, &er); break;
	case FMT_HTML: rv = write_html(f, &er); break;
	}
	if (rv) {
		rv = -1;
		goto out;
	}
	/* Written in full; a mismatch is also the exit status (as chain verify). */
	for (size_t i = 0; i < er.n; i++)
		if (er.rows[i].rec.verdict == RECONCILED_NO)
			rv = 1;
out:
	chain_session_close(&s);
	free(er.rows);
	return rv;
}

/* ---- Rewards Paid per site (quorate report --by site) ---- */

struct payee_site {
	int64_t epoch;
	struct eth_address payee;
	char site[64];
};

static double wei_to_eth(const struct u256 *wei)
{
	char dec[U256_DEC_LEN + 1];

	u256_to_dec(wei, dec);
	return strtod(dec, NULL) / 1e18;
}

int report_rewards_by_site(struct report *r, const struct quorate_conf *conf, int timeout_s,
			   char *err, size_t errlen)
{
	enum { SLOT = 4 };
	struct chain_session s;
	struct payee_site *ps = NULL;
	char from[32], to[32], len[32];
	const char *p[] = { from, to, len };
	PGresult *res = NULL;
	size_t n = 0, token_epochs = 0;
	int rv = -1;

	if (chain_session_open(&s, conf, timeout_s, false, err, errlen) != CHAIN_EXIT_OK)
		goto out;
	res = PQexec(s.db, "SELECT to_regclass('epoch_records') IS NOT NULL");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || strcmp(PQgetvalue(res, 0, 0), "t")) {
		rv = 0;		/* no chain schema: nothing was paid through quorate */
		goto out;
	}
	PQclear(res);
	snprintf(from, sizeof(from), "%lld", (long long)r->from);
	snprintf(to, sizeof(to), "%lld", (long long)r->to);
	snprintf(len, sizeof(len), "%ld", conf->epoch_length);
	res = PQexecParams(s.db, "SELECT DISTINCT r.epoch, encode(r.payee, 'hex'), "
			   "regexp_replace(r.site, '^site_', '') FROM epoch_records r "
			   "WHERE r.epoch::numeric * $3 < $2::numeric "
			   "AND (r.epoch::numeric + 1) * $3 > $1::numeric ORDER BY 1",
			   3, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "database: epoch_records: %s", PQerrorMessage(s.db));
		err[strcspn(err, "\n")] = '\0';
		goto out;
	}
	n = (size_t)PQntuples(res);
	if (n && !(ps = calloc(n, sizeof(*ps)))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char hex[ETH_ADDRESS_HEX_LEN + 1];

		ps[i].epoch = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
		snprintf(hex, sizeof(hex), "0x%s", PQgetvalue(res, (int)i, 1));
		snprintf(ps[i].site, sizeof(ps[i].site), "%s", PQgetvalue(res, (int)i, 2));
		if (eth_address_parse(hex, &ps[i].payee)) {
			snprintf(err, errlen, "database: epoch_records: payee %s is malformed", hex);
			goto out;
		}
	}
	if (!n) {
		rv = 0;
		goto out;
	}
	if (!s.rpc) {
		snprintf(r->chain_note, sizeof(r->chain_note),
			 "Rewards Paid: the chain was not asked (%s).", s.chain_problem);
		report_note(r, r->chain_note);
		rv = 0;
		goto out;
	}
	/* Sites with records in the period paid nothing until a claim says so. */
	for (size_t i = 0; i < n; i++) {
		struct report_row *row = report_row_get(r, ps[i].site);

		if (!row) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		row->opt[SLOT] = 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct chain_vault_epoch v;
		struct chain_claim *claims = NULL;
		struct jsonrpc_error e;
		size_t nc = 0;

		if (i && ps[i].epoch == ps[i - 1].epoch)
			continue;
		if (chain_vault_epoch(&s, (uint64_t)ps[i].epoch, &v, &e) ||
		    (v.asset == 1 && chain_vault_claims(&s, (uint64_t)ps[i].epoch, &claims, &nc, &e))) {
			for (size_t k = 0; k < r->nrows; k++)
				r->rows[k].opt[SLOT] = NAN;
			snprintf(r->chain_note, sizeof(r->chain_note),
				 "Rewards Paid: epoch %" PRId64 ": %s", ps[i].epoch, e.message);
			report_note(r, r->chain_note);
			rv = 0;
			goto out;
		}
		token_epochs += v.asset == 2;
		for (size_t c = 0; c < nc; c++) {
			const char *site = "(other payees)";
			struct report_row *row;

			for (size_t k = i; k < n && ps[k].epoch == ps[i].epoch; k++)
				if (!memcmp(ps[k].payee.b, claims[c].account.b, 20))
					site = ps[k].site;
			if (!(row = report_row_get(r, site))) {
				free(claims);
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			row->opt[SLOT] = (isnan(row->opt[SLOT]) ? 0 : row->opt[SLOT]) +
					 wei_to_eth(&claims[c].amount);
		}
		free(claims);
	}
	if (token_epochs) {
		snprintf(r->chain_note, sizeof(r->chain_note),
			 "Rewards Paid: %zu epochs paid in the vault's token are not in this ETH "
			 "column (see --by epoch).", token_epochs);
		report_note(r, r->chain_note);
	}
	rv = 0;
out:
	PQclear(res);
	free(ps);
	chain_session_close(&s);
	return rv;
}
