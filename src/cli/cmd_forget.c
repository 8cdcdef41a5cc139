/* cmd_forget.c: cairn forget: apply a retention policy to each group of
 * snapshots and delete the snapshot files it does not keep.  The data they
 * reference stays in the repository (prune, later, reclaims it). */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

enum {
	OPT_KEEP_LAST = 2000,   /* + enum policy_bucket */
	OPT_WITHIN = 2100,
	OPT_WITHIN_BUCKET = 2200,   /* + enum policy_bucket */
	OPT_KEEP_TAG = 2300,
	OPT_GROUP_BY,
	OPT_DRY_RUN,
	OPT_PRUNE,
	OPT_ALLOW_ALL,
};

enum { GROUP_HOST = 1, GROUP_PATHS = 2, GROUP_TAGS = 4 };

struct forget_args {
	struct policy p;
	struct strv keep_tags[64];   /* each a tag list */
	const char *const *lists[64];
	unsigned group_by;
	int dry_run, prune;
	struct cli_filter f;
};

/* One group: the indexes (into the ascending listing) of its snapshots
 * and the policy's decisions for them. */
struct group {
	char *key;
	size_t *idx;
	size_t n, cap;
	struct policy_decision *dec;
};

static int parse_group_by(const char *s, unsigned *ret)
{
	struct strv v = STRV_INIT;
	unsigned g = 0;
	int rc = strv_push_split(&v, s, ',');

	for (size_t i = 0; rc == 0 && i < v.n; i++) {
		if (!strcmp(v.v[i], "host"))
			g |= GROUP_HOST;
		else if (!strcmp(v.v[i], "paths"))
			g |= GROUP_PATHS;
		else if (!strcmp(v.v[i], "tags"))
			g |= GROUP_TAGS;
		else
			rc = CAIRN_E_INVAL;
	}
	strv_free(&v);
	if (rc == 0)
		*ret = g;
	return rc;
}

/* Returns -1 to go on, else an exit code. */
static int parse_args(struct cli *c, int argc, char **argv,
		      struct forget_args *a)
{
	static const struct option opts[] = {
		CLI_FILTER_OPTIONS,
		{"keep-last", required_argument, NULL, OPT_KEEP_LAST + POLICY_LAST},
		{"keep-hourly", required_argument, NULL, OPT_KEEP_LAST + POLICY_HOURLY},
		{"keep-daily", required_argument, NULL, OPT_KEEP_LAST + POLICY_DAILY},
		{"keep-weekly", required_argument, NULL, OPT_KEEP_LAST + POLICY_WEEKLY},
		{"keep-monthly", required_argument, NULL, OPT_KEEP_LAST + POLICY_MONTHLY},
		{"keep-yearly", required_argument, NULL, OPT_KEEP_LAST + POLICY_YEARLY},
		{"keep-within", required_argument, NULL, OPT_WITHIN},
		{"keep-within-hourly", required_argument, NULL, OPT_WITHIN_BUCKET + POLICY_HOURLY},
		{"keep-within-daily", required_argument, NULL, OPT_WITHIN_BUCKET + POLICY_DAILY},
		{"keep-within-weekly", required_argument, NULL, OPT_WITHIN_BUCKET + POLICY_WEEKLY},
		{"keep-within-monthly", required_argument, NULL, OPT_WITHIN_BUCKET + POLICY_MONTHLY},
		{"keep-within-yearly", required_argument, NULL, OPT_WITHIN_BUCKET + POLICY_YEARLY},
		{"keep-tag", required_argument, NULL, OPT_KEEP_TAG},
		{"group-by", required_argument, NULL, OPT_GROUP_BY},
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"prune", no_argument, NULL, OPT_PRUNE},
		{"unsafe-allow-remove-all", no_argument, NULL, OPT_ALLOW_ALL},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long v;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":hH:n", opts, NULL)) != -1) {
		if (ch == 'H')
			ch = CLI_OPT_HOST;
		rc = cli_filter_opt(&a->f, ch, optarg);
		if (rc < 0)
			return cli_fail(c, rc, "forget");
		if (rc > 0)
			continue;
		if (ch >= OPT_KEEP_LAST && ch < OPT_KEEP_LAST + _POLICY_BUCKET_MAX) {
			if (parse_int(optarg, 0, 1000000000, &v) < 0)
				return cli_usage(&cmd_forget, "bad count \"%s\"",
						 optarg);
			a->p.count[ch - OPT_KEEP_LAST] = (unsigned)v;
		} else if (ch == OPT_WITHIN ||
			   (ch > OPT_WITHIN_BUCKET &&
			    ch < OPT_WITHIN_BUCKET + _POLICY_BUCKET_MAX)) {
			struct policy_duration *d = ch == OPT_WITHIN ?
				&a->p.within :
				&a->p.within_bucket[ch - OPT_WITHIN_BUCKET];

			if (policy_duration_parse(optarg, d) < 0)
				return cli_usage(&cmd_forget, "bad duration "
						 "\"%s\" (want e.g. 1y2m7d3h)",
						 optarg);
		} else if (ch == OPT_KEEP_TAG) {
			size_t k = a->p.nkeep_tags;

			if (k == sizeof a->keep_tags / sizeof *a->keep_tags)
				return cli_usage(&cmd_forget, "too many "
						 "--keep-tag options");
			rc = strv_push_split(&a->keep_tags[k], optarg, ',');
			if (rc < 0)
				return cli_fail(c, rc, "forget");
			if (!a->keep_tags[k].n)
				return cli_usage(&cmd_forget, "--keep-tag "
						 "wants a tag");
			a->lists[k] = strv_get(&a->keep_tags[k]);
			a->p.nkeep_tags++;
		} else if (ch == OPT_GROUP_BY) {
			if (parse_group_by(optarg, &a->group_by) < 0)
				return cli_usage(&cmd_forget, "--group-by "
						 "takes host, paths and tags, "
						 "not \"%s\"", optarg);
		} else if (ch == OPT_DRY_RUN || ch == 'n') {
			a->dry_run = 1;
		} else if (ch == OPT_PRUNE) {
			a->prune = 1;
		} else if (ch == OPT_ALLOW_ALL) {
			a->p.allow_remove_all = 1;
		} else if (ch == 'h') {
			return cli_help_print(&cmd_forget);
		} else {
			return cli_bad_option(&cmd_forget, ch, argv);
		}
	}
	a->p.keep_tags = a->lists;
	if (optind < argc)
		return cli_usage(&cmd_forget, "unexpected argument \"%s\"",
				 argv[optind]);
	return -1;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the sorted strings of v to k, each followed by sep. */
static int key_add_sorted(struct strv *k, char *const *v, size_t n)
{
	char **s = malloc((n ? n : 1) * sizeof *s);
	int rc = 0;

	if (!s)
		return CAIRN_E_NOMEM;
	memcpy(s, v, n * sizeof *s);
	qsort(s, n, sizeof *s, str_cmp);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = strv_push(k, s[i]);
	free(s);
	return rc;
}

/* The group key of s: the grouped fields, unambiguously joined
 * (malloc'd). */
static int group_key(const struct snapshot *s, unsigned by, char **ret)
{
	struct strv k = STRV_INIT;
	size_t len = 1;
	char *p, *q;
	int rc = 0;

	if (by & GROUP_HOST)
		rc = strv_push(&k, s->hostname ? s->hostname : "");
	if (rc == 0 && (by & GROUP_PATHS)) {
		rc = key_add_sorted(&k, s->paths, s->npaths);
		if (rc == 0)
			rc = strv_push(&k, "\x01");
	}
	if (rc == 0 && (by & GROUP_TAGS))
		rc = key_add_sorted(&k, s->tags, s->ntags);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < k.n; i++)
		len += strlen(k.v[i]) + 1;
	p = q = malloc(len);
	if (!p) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < k.n; i++) {
		size_t l = strlen(k.v[i]);

		memcpy(q, k.v[i], l);
		q += l;
		*q++ = '\x02';
	}
	*q = '\0';
	*ret = p;
out:
	strv_free(&k);
	return rc;
}

static int group_push(struct group *g, size_t i)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		size_t *v = realloc(g->idx, cap * sizeof *v);

		if (!v)
			return CAIRN_E_NOMEM;
		g->idx = v;
		g->cap = cap;
	}
	g->idx[g->n++] = i;
	return 0;
}

/* Sorts v into groups, in order of first appearance. */
static int groups_build(const struct snapshot *v, size_t n, unsigned by,
			struct group **ret, size_t *ret_n)
{
	struct group *g = calloc(n ? n : 1, sizeof *g);
	size_t ng = 0, k;
	char *key = NULL;
	int rc = 0;

	if (!g)
		return CAIRN_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		TRY(group_key(&v[i], by, &key));
		for (k = 0; k < ng; k++)
			if (!strcmp(g[k].key, key))
				break;
		if (k == ng) {
			g[ng++].key = key;
			key = NULL;
		}
		TRY(group_push(&g[k], i));
		free(key);
		key = NULL;
	}
out:
	free(key);
	*ret = g;   /* freed by the caller even on failure */
	*ret_n = ng;
	return rc;
}

static void groups_free(struct group *g, size_t n)
{
	for (size_t i = 0; g && i < n; i++) {
		free(g[i].key);
		free(g[i].idx);
		policy_decisions_free(g[i].dec, g[i].n);
	}
	free(g);
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
static json_t *group_json(const struct snapshot *v, const struct group *g,
			  unsigned by)
{
	const struct snapshot *s0 = &v[g->idx[0]];
	json_t *o = json_object(), *keep = json_array(), *rm = json_array();
	json_t *why = json_array();

	if (!o || !keep || !rm || !why)
		goto fail;
	json_object_set_new(o, "host", (by & GROUP_HOST) && s0->hostname ?
			    jout_str(s0->hostname, strlen(s0->hostname)) :
			    json_null());
	json_object_set_new(o, "paths", (by & GROUP_PATHS) ?
			    json_strs(s0->paths, s0->npaths) : json_null());
	json_object_set_new(o, "tags", (by & GROUP_TAGS) ?
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
	if (by & GROUP_HOST) {
		printf(" for host \"%s\"", s0->hostname ? s0->hostname : "");
		sep = ",";
	}
	if (by & GROUP_PATHS) {
		printf("%s paths [", sep);
		for (size_t i = 0; i < s0->npaths; i++)
			printf("%s%s", i ? " " : "", s0->paths[i]);
		printf("]");
		sep = ",";
	}
	if (by & GROUP_TAGS) {
		printf("%s tags [", sep);
		for (size_t i = 0; i < s0->ntags; i++)
			printf("%s%s", i ? "," : "", s0->tags[i]);
		printf("]");
	}
	printf(":\n");
}

/* Prints the kept (keep = 1) or removed snapshots of g, newest first. */
static void group_list(const struct snapshot *v, const struct group *g,
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

/* Applies the policy to every group; an exit code. */
static int groups_decide(struct cli *c, const struct forget_args *a,
			 const struct snapshot *v, struct group *g, size_t ng)
{
	for (size_t i = 0; i < ng; i++) {
		struct policy_snap *ps = calloc(g[i].n, sizeof *ps);
		int rc;

		if (!ps)
			return cli_fail(c, CAIRN_E_NOMEM, "forget");
		for (size_t k = 0; k < g[i].n; k++) {
			const struct snapshot *s = &v[g[i].idx[k]];

			ps[k].time_sec = s->time_sec;
			ps[k].tz_offset = s->tz_offset;
			ps[k].tags = (const char *const *)s->tags;
			ps[k].ntags = s->ntags;
			memcpy(ps[k].id, s->id, 32);
		}
		rc = policy_apply(&a->p, ps, g[i].n, &g[i].dec);
		free(ps);
		if (rc == CAIRN_E_INVAL)
			return cli_error(c, CLI_EXIT_FATAL, "the policy would "
					 "remove every snapshot of a group; "
					 "refusing without "
					 "--unsafe-allow-remove-all");
		if (rc < 0)
			return cli_fail(c, rc, "apply policy");
	}
	return CLI_EXIT_OK;
}

static int run(struct cli *c, int argc, char **argv)
{
	struct forget_args a;
	struct snapshot *v = NULL;
	struct group *g = NULL;
	struct repo *r = NULL;
	size_t n = 0, ng = 0, removed = 0;
	json_t *out = NULL;
	int rc, ex;

	memset(&a, 0, sizeof a);
	a.f = (struct cli_filter)CLI_FILTER_INIT;
	a.group_by = GROUP_HOST | GROUP_PATHS;
	ex = parse_args(c, argc, argv, &a);
	if (ex >= 0)
		goto out;
	if (a.prune) {
		ex = cli_error(c, CLI_EXIT_FATAL, "prune is not implemented "
			       "yet; run forget without --prune");
		goto out;
	}
	if (policy_is_empty(&a.p)) {
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
	rc = groups_build(v, n, a.group_by, &g, &ng);
	if (rc < 0) {
		ex = cli_fail(c, rc, "group snapshots");
		goto out;
	}
	ex = groups_decide(c, &a, v, g, ng);
	if (ex != CLI_EXIT_OK)
		goto out;

	if (c->json) {
		out = json_array();
		for (size_t i = 0; out && i < ng; i++)
			if (json_array_append_new(out, group_json(v, &g[i],
								  a.group_by))) {
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
			group_title(&v[g[i].idx[0]], a.group_by);
			group_list(v, &g[i], 1);
			group_list(v, &g[i], 0);
		}
	}
	if (a.dry_run)
		goto out;
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
out:
	json_decref(out);
	groups_free(g, ng);
	repo_snapshots_free(v, n);
	if (r)
		repo_close(r);
	for (size_t i = 0; i < sizeof a.keep_tags / sizeof *a.keep_tags; i++)
		strv_free(&a.keep_tags[i]);
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
	"      --keep-last N              the N newest snapshots\n"
	"      --keep-hourly N            the newest of each of the last N "
	"hours\n"
	"      --keep-daily N             ... days\n"
	"      --keep-weekly N            ... ISO weeks\n"
	"      --keep-monthly N           ... months\n"
	"      --keep-yearly N            ... years\n"
	"      --keep-within D            all newer than the newest minus D "
	"(e.g. 1y2m7d3h)\n"
	"      --keep-within-hourly D     the newest of each hour within D\n"
	"      --keep-within-daily D      ... day within D (also -weekly, "
	"-monthly, -yearly)\n"
	"      --keep-tag TAG[,TAG]       those with every TAG (repeatable)\n"
	"\n"
	"Options:\n"
	"      --group-by KEYS            host, paths, tags, comma-separated; "
	"'' for one group\n"
	"  -H, --host HOST                only snapshots of HOST\n"
	"      --tag TAG[,TAG]            only snapshots with every TAG\n"
	"      --path PATH                only snapshots that include PATH\n"
	"  -n, --dry-run                  print the decision, remove nothing\n"
	"      --prune                    not implemented yet (an error)\n"
	"      --unsafe-allow-remove-all  allow removing every snapshot of a "
	"group\n"
	"\n"
	"With --json, one JSON array of groups {host, paths, tags, keep, "
	"remove,\n"
	"reasons: [{snapshot, matches}]}; keys not grouped by are null.\n",
	.run = run,
};
