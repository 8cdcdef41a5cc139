/* cmd_forget.c: cairn forget: apply a retention policy to each group of
 * snapshots and delete the snapshot files it does not keep.  The data they
 * reference stays in the repository (prune, later, reclaims it). */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_DRY_RUN = CLI_OPT_POLICY_END,
	OPT_PRUNE,
	OPT_ALLOW_ALL,
};

struct forget_args {
	struct cli_policy pol;
	int dry_run, prune;
	struct cli_filter f;
	struct prune_opts po;
	char **ids;               /* snapshots named on the command line */
	int nids;
};

/* Returns -1 to go on, else an exit code. */
static int parse_args(struct cli *c, int argc, char **argv,
		      struct forget_args *a)
{
	static const struct option opts[] = {
		CLI_FILTER_OPTIONS,
		CLI_POLICY_OPTIONS,
		CLI_PRUNE_OPTIONS,
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"prune", no_argument, NULL, OPT_PRUNE},
		{"unsafe-allow-remove-all", no_argument, NULL, OPT_ALLOW_ALL},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":hH:n", opts, NULL)) != -1) {
		rc = cli_policy_opt(c, &cmd_forget, &a->f, &a->pol, ch, optarg);
		if (rc > CLI_EXIT_OK)
			return rc;
		if (rc == CLI_EXIT_OK)
			continue;
		rc = cli_prune_opt(&cmd_forget, &a->po, ch, optarg);
		if (rc > 0)
			return rc;
		if (rc < 0)
			continue;
		if (ch == OPT_DRY_RUN || ch == 'n') {
			a->dry_run = 1;
		} else if (ch == OPT_PRUNE) {
			a->prune = 1;
		} else if (ch == OPT_ALLOW_ALL) {
			a->pol.p.allow_remove_all = 1;
		} else if (ch == 'h') {
			return cli_help_print(&cmd_forget);
		} else {
			return cli_bad_option(&cmd_forget, ch, argv);
		}
	}
	a->ids = argv + optind;
	a->nids = argc - optind;
	return -1;
}

/* forget ID...: removes the named snapshots, no policy involved. */
static int forget_ids(struct cli *c, struct repo *r, struct forget_args *a)
{
	struct snapshot *v = calloc((size_t)a->nids, sizeof *v);
	int ex = CLI_EXIT_OK, found = 0;
	char id[65];
	if (!v)
		return cli_fail(c, CAIRN_E_NOMEM, "forget");
	/* resolve all first: a typo removes nothing */
	for (; found < a->nids; found++) {
		ex = cli_snapshot_find(c, r, a->ids[found], NULL, &v[found]);
		if (ex != CLI_EXIT_OK)
			goto out;
	}
	for (int i = 0; i < a->nids && !a->dry_run; i++) {
		int rc = repo_snapshot_remove(r, v[i].id);
		fmt_id(v[i].id, id);
		if (rc < 0 && rc != CAIRN_E_NOTFOUND) {
			ex = cli_fail(c, rc, "remove snapshot %s", id);
			goto out;
		}
		if (!c->json && !c->quiet)
			printf("removed snapshot %.8s\n", id);
	}
	if (a->dry_run && !c->json && !c->quiet)
		for (int i = 0; i < a->nids; i++) {
			fmt_id(v[i].id, id);
			printf("would remove snapshot %.8s\n", id);
		}
out:
	for (int i = 0; i < found; i++)
		snapshot_free(&v[i]);
	free(v);
	return ex;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static json_t *json_strs(char *const *v, size_t n)
{
	json_t *a = json_array();
	char **s = malloc((n ? n : 1) * sizeof *s);

	if (!a || !s) {
		json_decref(a);
		free(s);
		return NULL;
	}
	memcpy(s, v, n * sizeof *s);
	qsort(s, n, sizeof *s, str_cmp);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, jout_str(s[i], strlen(s[i])));
	free(s);
	return a;
}

/* The JSON object of one group; newest first within keep and remove. */
static json_t *group_json(const struct snapshot *v, const struct cli_group *g,
			  unsigned by)
{
	const struct snapshot *s0 = &v[g->idx[0]];
	json_t *o = json_object(), *keep = json_array(), *rm = json_array();
	json_t *why = json_array();

	if (!o || !keep || !rm || !why)
		goto fail;
	json_object_set_new(o, "host", (by & CLI_GROUP_HOST) && s0->hostname ?
			    jout_str(s0->hostname, strlen(s0->hostname)) :
			    json_null());
	json_object_set_new(o, "paths", (by & CLI_GROUP_PATHS) ?
			    json_strs(s0->paths, s0->npaths) : json_null());
	json_object_set_new(o, "tags", (by & CLI_GROUP_TAGS) ?
			    json_strs(s0->tags, s0->ntags) : json_null());
	for (size_t k = g->n; k-- > 0;) {
		const struct snapshot *s = &v[g->idx[k]];
		const struct policy_decision *d = &g->dec[k];
		json_t *m;

		if (!d->keep) {
			json_array_append_new(rm, jout_snapshot(s));
			continue;
		}
		json_array_append_new(keep, jout_snapshot(s));
		m = json_array();
		for (size_t r = 0; m && r < d->nreasons; r++)
			json_array_append_new(m, json_string(d->reasons[r]));
		json_array_append_new(why, json_pack("{s:o, s:o}", "snapshot",
						     jout_snapshot(s),
						     "matches", m));
	}
	json_object_set_new(o, "keep", keep);
	json_object_set_new(o, "remove", rm);
	json_object_set_new(o, "reasons", why);
	return o;
fail:
	json_decref(o);
	json_decref(keep);
	json_decref(rm);
	json_decref(why);
	return NULL;
}

static void group_title(const struct snapshot *s0, unsigned by)
{
	const char *sep = "";

	printf("snapshots");
	if (by & CLI_GROUP_HOST) {
		printf(" for host \"%s\"", s0->hostname ? s0->hostname : "");
		sep = ",";
	}
	if (by & CLI_GROUP_PATHS) {
		printf("%s paths [", sep);
		for (size_t i = 0; i < s0->npaths; i++)
			printf("%s%s", i ? " " : "", s0->paths[i]);
		printf("]");
		sep = ",";
	}
	if (by & CLI_GROUP_TAGS) {
		printf("%s tags [", sep);
		for (size_t i = 0; i < s0->ntags; i++)
			printf("%s%s", i ? "," : "", s0->tags[i]);
		printf("]");
	}
	printf(":\n");
}

/* Prints the kept (keep = 1) or removed snapshots of g, newest first. */
static void group_list(const struct snapshot *v, const struct cli_group *g,
		       int keep)
{
	size_t cnt = 0;
	char id[9], t[32];

	for (size_t k = 0; k < g->n; k++)
		cnt += g->dec[k].keep == keep;
	if (!cnt)
		return;
	printf("%s %zu snapshot%s:\n", keep ? "keep" : "remove", cnt,
	       cnt == 1 ? "" : "s");
	for (size_t k = g->n; k-- > 0;) {
		const struct snapshot *s = &v[g->idx[k]];
		const struct policy_decision *d = &g->dec[k];

		if (d->keep != keep)
			continue;
		fmt_short_id(s->id, id);
		fmt_local_time(s->time_sec, t);
		printf("  %s  %s  %s", id, t, s->hostname ? s->hostname : "");
		for (size_t r = 0; r < d->nreasons; r++)
			printf("%s%s", r ? ", " : "  (", d->reasons[r]);
		printf("%s\n", d->nreasons ? ")" : "");
	}
}

static int run(struct cli *c, int argc, char **argv)
{
	struct forget_args a;
	struct snapshot *v = NULL;
	struct cli_group *g = NULL;
	struct repo *r = NULL;
	size_t n = 0, ng = 0, removed = 0;
	json_t *out = NULL;
	int rc, ex;

	memset(&a, 0, sizeof a);
	a.f = (struct cli_filter)CLI_FILTER_INIT;
	cli_policy_init(&a.pol);
	cli_prune_defaults(&a.po);
	ex = parse_args(c, argc, argv, &a);
	if (ex >= 0)
		goto out;
	if (a.nids) {
		if (!policy_is_empty(&a.pol.p)) {
			ex = cli_usage(&cmd_forget, "give snapshot IDs or a "
				       "policy, not both");
			goto out;
		}
		ex = cli_open(c, &r);
		if (ex == CLI_EXIT_OK)
			ex = forget_ids(c, r, &a);
		goto prune;
	}
	if (policy_is_empty(&a.pol.p)) {
		ex = cli_error(c, CLI_EXIT_FATAL, "no policy given: use "
			       "--keep-last, --keep-daily, ..., --keep-within "
			       "or --keep-tag");
		goto out;
	}
	ex = cli_open(c, &r);
	if (ex != CLI_EXIT_OK)
		goto out;
	rc = repo_snapshots_list(r, cli_filter_get(&a.f), &v, &n);
	if (rc < 0) {
		ex = cli_fail(c, rc, "list snapshots");
		goto out;
	}
	if (repo_snapshots_skipped(r)) {
		/* a damaged snapshot would be judged as missing */
		ex = cli_error(c, CLI_EXIT_FATAL, "%zu snapshot file(s) could "
			       "not be read; run `cairn check` first",
			       repo_snapshots_skipped(r));
		goto out;
	}
	ex = cli_policy_apply(c, &a.pol, v, n, &g, &ng);
	if (ex != CLI_EXIT_OK)
		goto out;

	if (c->json) {
		out = json_array();
		for (size_t i = 0; out && i < ng; i++)
			if (json_array_append_new(out, group_json(v, &g[i],
								  a.pol.group_by))) {
				json_decref(out);
				out = NULL;   /* jout_print reports the OOM */
			}
		rc = jout_print(out, stdout);
		out = NULL;
		if (rc < 0) {
			ex = cli_fail(c, rc, "print");
			goto out;
		}
	} else if (!c->quiet) {
		for (size_t i = 0; i < ng; i++) {
			if (i)
				printf("\n");
			group_title(&v[g[i].idx[0]], a.pol.group_by);
			group_list(v, &g[i], 1);
			group_list(v, &g[i], 0);
		}
	}
	if (a.dry_run)
		goto prune;
	for (size_t i = 0; i < ng; i++)
		for (size_t k = 0; k < g[i].n; k++) {
			const struct snapshot *s = &v[g[i].idx[k]];
			char id[65];

			if (g[i].dec[k].keep)
				continue;
			fmt_id(s->id, id);
			rc = repo_snapshot_remove(r, s->id);
			if (rc < 0) {
				ex = cli_fail(c, rc, "remove snapshot %s", id);
				goto out;
			}
			removed++;
		}
	if (!c->json && !c->quiet && removed)
		printf("\nremoved %zu snapshot%s\n", removed,
		       removed == 1 ? "" : "s");
prune:
	if (ex == CLI_EXIT_OK && a.prune) {
		if (!c->json && !c->quiet)
			printf("\n");
		a.po.dry_run = a.dry_run;
		ex = cli_prune_run(c, r, &a.po);
	}
out:
	json_decref(out);
	cli_groups_free(g, ng);
	repo_snapshots_free(v, n);
	if (r)
		repo_close(r);
	cli_policy_free(&a.pol);
	cli_filter_free(&a.f);
	return ex;
}

const struct cli_command cmd_forget = {
	.name = "forget",
	.summary = "remove snapshots according to a retention policy",
	.help =
	"usage: cairn forget [policy options] [--group-by KEYS] [--host HOST] "
	"[--tag TAG]...\n"
	"                    [--path PATH]... [--dry-run] "
	"[--unsafe-allow-remove-all]\n"
	"                    [--prune [prune options]]\n"
	"       cairn forget [--dry-run] [--prune] SNAPSHOT...\n"
	"\n"
	"Groups the snapshots (by default by host and paths), applies the "
	"policy to\n"
	"each group, prints what is kept (with the reasons) and what is "
	"removed, and\n"
	"deletes the snapshot files not kept.  Their data stays in the "
	"repository.\n"
	"Calendar fields are taken in each snapshot's recorded time zone "
	"offset.\n"
	"\n"
	"Policy (at least one; a snapshot is kept when any rule keeps it):\n"
	CLI_POLICY_HELP
	"\n"
	"Options:\n"
	"      --group-by KEYS            host, paths, tags, comma-separated; "
	"'' for one group\n"
	"  -H, --host HOST                only snapshots of HOST\n"
	"      --tag TAG[,TAG]            only snapshots with every TAG\n"
	"      --path PATH                only snapshots that include PATH\n"
	"  -n, --dry-run                  print the decision, remove nothing\n"
	"      --prune                    then run prune (see \"cairn help "
	"prune\"),\n"
	"                                 with these prune options:\n"
	CLI_PRUNE_HELP
	"      --unsafe-allow-remove-all  allow removing every snapshot of a "
	"group\n"
	"\n"
	"With --json, one JSON array of groups {host, paths, tags, keep, "
	"remove,\n"
	"reasons: [{snapshot, matches}]}; keys not grouped by are null.  "
	"With --prune,\n"
	"prune's JSON object follows on its own line.\n"
	"\n"
	"Given snapshot IDs (or unique prefixes, or \"latest\") instead of a "
	"policy,\n"
	"forget removes those snapshots.\n",
	.run = run,
};
