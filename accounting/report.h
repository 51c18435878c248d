/* `quorate report`: usage, jobs and verification outcomes over a period. */
#ifndef QUORATE_REPORT_H
#define QUORATE_REPORT_H

#include <stdio.h>
#include <time.h>

#include "qconf.h"

enum report_by { BY_SITE, BY_ACCOUNT, BY_USER, BY_NODE, BY_EPOCH };
enum report_format { FMT_TABLE, FMT_CSV, FMT_JSON, FMT_HTML };

#define REPORT_MAX_OPT 8	/* optional columns (tables of other schemas) */

/* One row of the report: a site, account, user or node. */
struct report_row {
	char *key;
	double cpu_s, gpu_s, node_s;	/* seconds within the period */
	long jobs;
	double agree, disagree, missing;	/* replica outcomes */
	double opt[REPORT_MAX_OPT];		/* NaN: no data */
};

struct report {
	time_t from, to;
	enum report_by by;
	const char *cluster;
	struct report_row *rows;
	size_t nrows;
	double *scores;			/* reputation of every node (nodes table) */
	size_t nscores;
	/* Credits per epoch, when contrib_ledger exists. */
	char **epochs;
	double *earned, *spent;
	size_t nepochs;
	const char *notes[8];		/* what could not be read, for the reader */
	size_t nnotes;
	char chain_note[800];		/* storage of a note about the chain */
};

/* The column table: one entry per column of every format. */
struct report_column {
	const char *header;	/* Open XDMoD's name where there is one */
	const char *unit;	/* NULL: a count */
	const char *json;
	int digits;
	double (*value)(const struct report_row *r, size_t opt);
	size_t opt;		/* index into row->opt for optional columns */
};
extern const struct report_column report_columns[];
extern const size_t report_ncolumns;

const char *report_by_name(enum report_by by);

int report_write_table(FILE *f, const struct report *r);
int report_write_csv(FILE *f, const struct report *r);
int report_write_json(FILE *f, const struct report *r);
int report_write_html(FILE *f, const struct report *r);

/* A note for the reader (MSG must outlive the report); the row of KEY,
 * added when new (NULL: out of memory). */
void report_note(struct report *r, const char *msg);
struct report_row *report_row_get(struct report *r, const char *key);

/* Rewards Paid [ETH] per site (row->opt[4]): the RewardVault's Claimed
 * events of the epochs overlapping the period, each claim's account
 * matched to the site whose payee it is in epoch_records.  The chain
 * unreachable is a note, not an error; -1 (ERR) when the database fails. */
int report_rewards_by_site(struct report *r, const struct quorate_conf *conf, int timeout_s,
			   char *err, size_t errlen);

/* The HTML pages' style sheet (screen and print). */
extern const char report_html_css[];

/* --by epoch (report_epoch.c): R gives the period.  Writes FMT to F and
 * returns 0, 1 when an epoch does not reconcile (written all the same),
 * 3 when the database cannot be read, -1 on a write error. */
int report_by_epoch(const struct report *r, enum report_format fmt, FILE *f,
		    const struct quorate_conf *conf, int timeout_s);

/* Run `quorate report` (argv[0] is "report"); CONF's Database (NULL or
 * empty: none), chain and epoch settings; TIMEOUT_S bounds each RPC.
 * Returns the exit status. */
int cmd_report(int argc, char **argv, const struct quorate_conf *conf, int timeout_s);

#endif
