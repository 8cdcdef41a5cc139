/* cmd_snapshots.c: cairn snapshots: list snapshots as a table or JSON. */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Tags joined by ','; malloc'd, NULL on OOM. */
static char *join_tags(const struct snapshot *s)
{
	size_t len = 1;
	char *p;

	for (size_t i = 0; i < s->ntags; i++)
		len += strlen(s->tags[i]) + 1;
	p = malloc(len);
	if (!p)
		return NULL;
	p[0] = '\0';
	for (size_t i = 0; i < s->ntags; i++) {
		if (i)
			strcat(p, ",");
		strcat(p, s->tags[i]);
	}
	return p;
}

static void rule(int width)
{
	for (int i = 0; i < width; i++)
		putchar('-');
	putchar('\n');
}

static int print_table(const struct snapshot *v, size_t n)
{
	int hw = 4, tw = 4, pw = 5, width;
	char **tags = calloc(n ? n : 1, sizeof *tags);
	char id[9], t[32];
	int rc = 0;

	if (!tags)
		return CAIRN_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		tags[i] = join_tags(&v[i]);
		if (!tags[i]) {
			rc = CAIRN_E_NOMEM;
			goto out;
		}
		if ((int)strlen(v[i].hostname ? v[i].hostname : "") > hw)
			hw = (int)strlen(v[i].hostname);
		if ((int)strlen(tags[i]) > tw)
			tw = (int)strlen(tags[i]);
		for (size_t k = 0; k < v[i].npaths; k++)
			if ((int)strlen(v[i].paths[k]) > pw)
				pw = (int)strlen(v[i].paths[k]);
	}
	width = 8 + 2 + 19 + 2 + hw + 2 + tw + 2 + pw;
	printf("%-8s  %-19s  %-*s  %-*s  %s\n", "ID", "Time", hw, "Host", tw,
	       "Tags", "Paths");
	rule(width);
	for (size_t i = 0; i < n; i++) {
		fmt_short_id(v[i].id, id);
		fmt_local_time(v[i].time_sec, t);
		printf("%-8s  %-19s  %-*s  %-*s  %s\n", id, t, hw,
		       v[i].hostname ? v[i].hostname : "", tw, tags[i],
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
	for (size_t i = 0; i < n; i++)
		free(tags[i]);
	free(tags);
	return rc;
}

static int print_json(const struct snapshot *v, size_t n)
{
	json_t *a = json_array();

	if (!a)
		return CAIRN_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if (json_array_append_new(a, jout_snapshot(&v[i])) < 0) {
			json_decref(a);
			return CAIRN_E_NOMEM;
		}
	}
	return jout_print(a, stdout);
}

static int run(struct cli *c, int argc, char **argv)
{
	struct cli_filter f = CLI_FILTER_INIT;
	struct snapshot *v = NULL;
	struct repo *r = NULL;
	size_t n = 0;
	int rc, ex;

	ex = cli_filter_parse(c, &cmd_snapshots, argc, argv, &f);
	if (ex >= 0)
		goto out;
	if (optind < argc) {
		ex = cli_usage(&cmd_snapshots, "unexpected argument \"%s\"",
			       argv[optind]);
		goto out;
	}
	ex = cli_open(c, &r);
	if (ex != CLI_EXIT_OK)
		goto out;
	rc = repo_snapshots_list(r, cli_filter_get(&f), &v, &n);
	if (rc < 0) {
		ex = cli_fail(c, rc, "list snapshots");
		goto out;
	}
	rc = c->json ? print_json(v, n) : print_table(v, n);
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
	repo_snapshots_free(v, n);
out:
	if (r)
		repo_close(r);
	cli_filter_free(&f);
	return ex;
}

const struct cli_command cmd_snapshots = {
	.name = "snapshots",
	.summary = "list snapshots",
	.help =
	"usage: cairn snapshots [--host HOST] [--tag TAG[,TAG]]... "
	"[--path PATH]...\n"
	"\n"
	"Lists the snapshots, oldest first: a table of short ID, local time, "
	"host,\n"
	"tags and paths, then a count.  With --json, one JSON array of "
	"objects with\n"
	"id, short_id, time (RFC 3339), tree, parent (when any), paths, "
	"hostname,\n"
	"username, uid, gid, tags, program_version, source and summary.\n"
	"\n"
	"Options (a snapshot must match all that are given):\n"
	"  -H, --host HOST        only snapshots of HOST\n"
	"      --tag TAG[,TAG]    only snapshots with every TAG "
	"(repeatable)\n"
	"      --path PATH        only snapshots that include PATH "
	"(repeatable)\n",
	.run = run,
};
