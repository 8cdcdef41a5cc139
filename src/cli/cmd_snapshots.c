/* cmd_snapshots.c: cairn snapshots: list snapshots as a table or JSON and,
 * given a retention policy, which of its rules keeps each one (what
 * forget would decide, without removing anything). */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The Reasons cell of a snapshot the policy does not keep. */
#define REMOVED "(would be removed)"

struct snapshots_args {
	struct cli_policy pol;
	struct cli_filter f;
};

/* The n strings of v joined by sep; malloc'd, NULL on OOM. */
static char *join(char *const *v, size_t n, const char *sep)
{
	size_t len = 1;
	char *p;

	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + strlen(sep);
	p = malloc(len);
	if (!p)
		return NULL;
	p[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(p, sep);
		strcat(p, v[i]);
	}
	return p;
}

/* The Reasons cell of a snapshot: the rules that keep it, or REMOVED. */
static char *reasons_cell(const struct policy_decision *d)
{
	if (!d->keep)
		return strdup(REMOVED);
	return join(d->reasons, d->nreasons, ", ");
}

static void rule(int width)
{
	for (int i = 0; i < width; i++)
		putchar('-');
	putchar('\n');
}

/* dec, when not NULL, has the policy's decision for each of the n
 * snapshots and adds the Reasons column. */
static int print_table(const struct snapshot *v, size_t n,
		       const struct policy_decision *const *dec)
{
	int hw = 4, tw = 4, rw = dec ? 7 : 0, pw = 5, width;
	char **tags = calloc(n ? n : 1, sizeof *tags);
	char **why = calloc(n ? n : 1, sizeof *why);
	char id[9], t[32];
	int rc = 0;

	if (!tags || !why) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		tags[i] = join(v[i].tags, v[i].ntags, ",");
		why[i] = dec ? reasons_cell(dec[i]) : strdup("");
		if (!tags[i] || !why[i]) {
			rc = CAIRN_E_NOMEM;
			goto out;
		}
		if ((int)strlen(v[i].hostname ? v[i].hostname : "") > hw)
			hw = (int)strlen(v[i].hostname);
		if ((int)strlen(tags[i]) > tw)
			tw = (int)strlen(tags[i]);
		if ((int)strlen(why[i]) > rw)
			rw = (int)strlen(why[i]);
		for (size_t k = 0; k < v[i].npaths; k++)
			if ((int)strlen(v[i].paths[k]) > pw)
				pw = (int)strlen(v[i].paths[k]);
	}
	/* without a policy the Reasons column and its separator vanish */
	width = 8 + 2 + 19 + 2 + hw + 2 + tw + 2 + (dec ? rw + 2 : 0) + pw;
	printf("%-8s  %-19s  %-*s  %-*s  %-*s%s%s\n", "ID", "Time", hw,
	       "Host", tw, "Tags", rw, dec ? "Reasons" : "", dec ? "  " : "",
	       "Paths");
	rule(width);
	for (size_t i = 0; i < n; i++) {
		fmt_short_id(v[i].id, id);
		fmt_local_time(v[i].time_sec, t);
		printf("%-8s  %-19s  %-*s  %-*s  %-*s%s%s\n", id, t, hw,
		       v[i].hostname ? v[i].hostname : "", tw, tags[i], rw,
		       why[i], dec ? "  " : "",
		       v[i].npaths ? v[i].paths[0] : "");
		for (size_t k = 1; k < v[i].npaths; k++)
			printf("%*s%s\n", width - pw, "", v[i].paths[k]);
		if (v[i].summary.files_failed)
			printf("%*s(partial: %" PRIu64 " file%s could not be "
			       "read)\n", 10, "", v[i].summary.files_failed,
			       v[i].summary.files_failed == 1 ? "" : "s");
	}
	rule(width);
	printf("%zu snapshot%s\n", n, n == 1 ? "" : "s");
out:
	for (size_t i = 0; i < n; i++) {
		free(tags ? tags[i] : NULL);
		free(why ? why[i] : NULL);
	}
	free(tags);
	free(why);
	return rc;
}

/* The snapshot object, with "keep" and "reasons" when d is not NULL. */
static json_t *snapshot_json(const struct snapshot *s,
			     const struct policy_decision *d)
{
	json_t *o = jout_snapshot(s), *m;

	if (!o || !d)
		return o;
	m = json_array();
	for (size_t r = 0; m && r < d->nreasons; r++)
		if (json_array_append_new(m, json_string(d->reasons[r])) < 0) {
			json_decref(m);
			m = NULL;
		}
	if (!m || json_object_set_new(o, "keep", json_boolean(d->keep)) < 0 ||
	    json_object_set_new(o, "reasons", m) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int print_json(const struct snapshot *v, size_t n,
		      const struct policy_decision *const *dec)
{
	json_t *a = json_array();

	if (!a)
		return CAIRN_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if (json_array_append_new(a, snapshot_json(&v[i], dec ?
							   dec[i] : NULL)) < 0) {
			json_decref(a);
			return CAIRN_E_NOMEM;
		}
	}
	return jout_print(a, stdout);
}

/* Returns -1 to go on, else an exit code. */
static int parse_args(struct cli *c, int argc, char **argv,
		      struct snapshots_args *a)
{
	static const struct option opts[] = {
		CLI_FILTER_OPTIONS,
		CLI_POLICY_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":hH:", opts, NULL)) != -1) {
		rc = cli_policy_opt(c, &cmd_snapshots, &a->f, &a->pol, ch, optarg);
		if (rc > CLI_EXIT_OK)
			return rc;
		if (rc == CLI_EXIT_OK)
			continue;
		return ch == 'h' ? cli_help_print(&cmd_snapshots)
				 : cli_bad_option(&cmd_snapshots, ch, argv);
	}
	if (optind < argc)
		return cli_usage(&cmd_snapshots, "unexpected argument \"%s\"",
				 argv[optind]);
	if (a->pol.group_by_given && policy_is_empty(&a->pol.p))
		return cli_usage(&cmd_snapshots, "--group-by needs a policy "
				 "(--keep-last, --keep-daily, ...)");
	/* a listing: show a group that would be emptied, do not refuse */
	a->pol.p.allow_remove_all = 1;
	return -1;
}

/* Applies the policy; *ret (malloc'd) gets the decision of each of the
 * n snapshots of v, pointing into *ret_g.  An exit code. */
static int decide(struct cli *c, const struct cli_policy *pol,
		  const struct snapshot *v, size_t n,
		  struct cli_group **ret_g, size_t *ret_ng,
		  const struct policy_decision ***ret)
{
	const struct policy_decision **dec;
	int ex = cli_policy_apply(c, pol, v, n, ret_g, ret_ng);

	if (ex != CLI_EXIT_OK)
		return ex;
	dec = calloc(n ? n : 1, sizeof *dec);
	if (!dec)
		return cli_fail(c, CAIRN_E_NOMEM, "apply policy");
	for (size_t i = 0; i < *ret_ng; i++)
		for (size_t k = 0; k < (*ret_g)[i].n; k++)
			dec[(*ret_g)[i].idx[k]] = &(*ret_g)[i].dec[k];
	*ret = dec;
	return CLI_EXIT_OK;
}

static int run(struct cli *c, int argc, char **argv)
{
	struct snapshots_args a = {.f = CLI_FILTER_INIT};
	const struct policy_decision **dec = NULL;
	struct snapshot *v = NULL;
	struct cli_group *g = NULL;
	struct repo *r = NULL;
	size_t n = 0, ng = 0;
	int rc, ex;

	cli_policy_init(&a.pol);
	ex = parse_args(c, argc, argv, &a);
	if (ex >= 0)
		goto out;
	ex = cli_open(c, &r);
	if (ex != CLI_EXIT_OK)
		goto out;
	rc = repo_snapshots_list(r, cli_filter_get(&a.f), &v, &n);
	if (rc < 0) {
		ex = cli_fail(c, rc, "list snapshots");
		goto out;
	}
	if (!policy_is_empty(&a.pol.p)) {
		ex = decide(c, &a.pol, v, n, &g, &ng, &dec);
		if (ex != CLI_EXIT_OK)
			goto out;
	}
	rc = c->json ? print_json(v, n, dec) : print_table(v, n, dec);
	if (rc < 0)
		ex = cli_fail(c, rc, "print snapshots");
	if (repo_snapshots_skipped(r)) {
		/* listed what could be read; say loudly what could not */
		fprintf(stderr, "cairn: warning: %zu snapshot file(s) could not "
			"be read (damaged?); run `cairn check`\n",
			repo_snapshots_skipped(r));
		if (ex == CLI_EXIT_OK)
			ex = CLI_EXIT_FATAL;
	}
out:
	free(dec);
	cli_groups_free(g, ng);
	repo_snapshots_free(v, n);
	if (r)
		repo_close(r);
	cli_policy_free(&a.pol);
	cli_filter_free(&a.f);
	return ex;
}

const struct cli_command cmd_snapshots = {
	.name = "snapshots",
	.summary = "list snapshots",
	.help =
	"usage: cairn snapshots [--host HOST] [--tag TAG[,TAG]]... "
	"[--path PATH]...\n"
	"                       [policy options] [--group-by KEYS]\n"
	"\n"
	"Lists the snapshots, oldest first: a table of short ID, local time, "
	"host,\n"
	"tags and paths, then a count.  With --json, one JSON array of "
	"objects with\n"
	"id, short_id, time (RFC 3339), tree, parent (when any), paths, "
	"hostname,\n"
	"username, uid, gid, tags, program_version, source and summary.\n"
	"\n"
	"Given a policy, it is applied as forget would apply it (to each "
	"group of the\n"
	"listed snapshots) and nothing is removed: the table gains a "
	"Reasons column\n"
	"with the rules that keep each snapshot, or \"" REMOVED "\", "
	"and each\n"
	"JSON object gains \"keep\" (true or false) and \"reasons\" (the "
	"matches of\n"
	"forget --json; empty when not kept).  A policy that keeps nothing "
	"of a\n"
	"group is shown too (forget refuses it without "
	"--unsafe-allow-remove-all).\n"
	"\n"
	"Options (a snapshot must match all that are given):\n"
	"  -H, --host HOST        only snapshots of HOST\n"
	"      --tag TAG[,TAG]    only snapshots with every TAG "
	"(repeatable)\n"
	"      --path PATH        only snapshots that include PATH "
	"(repeatable)\n"
	"\n"
	"Policy (optional; a snapshot is kept when any rule keeps it):\n"
	CLI_POLICY_HELP
	"      --group-by KEYS            host, paths, tags, comma-separated; "
	"'' for one group\n"
	"                                 (default host,paths; needs a "
	"policy)\n",
	.run = run,
};
