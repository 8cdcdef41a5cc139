/* policy_opts.c: the retention policy options that forget and snapshots
 * share (--keep-*, --keep-within*, --keep-tag, --group-by), and the
 * grouping of a snapshot listing to which the policy is applied. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

void cli_policy_init(struct cli_policy *p)
{
	memset(p, 0, sizeof *p);
	p->group_by = CLI_GROUP_HOST | CLI_GROUP_PATHS;
}

void cli_policy_free(struct cli_policy *p)
{
	for (size_t i = 0; i < sizeof p->keep_tags / sizeof *p->keep_tags; i++)
		strv_free(&p->keep_tags[i]);
}

static int parse_group_by(const char *s, unsigned *ret)
{
	struct strv v = STRV_INIT;
	unsigned g = 0;
	int rc = strv_push_split(&v, s, ',');

	for (size_t i = 0; rc == 0 && i < v.n; i++) {
		if (!strcmp(v.v[i], "host"))
			g |= CLI_GROUP_HOST;
		else if (!strcmp(v.v[i], "paths"))
			g |= CLI_GROUP_PATHS;
		else if (!strcmp(v.v[i], "tags"))
			g |= CLI_GROUP_TAGS;
		else
			rc = CAIRN_E_INVAL;
	}
	strv_free(&v);
	if (rc == 0)
		*ret = g;
	return rc;
}

static int keep_tag_add(const struct cli *c, const struct cli_command *cmd,
			struct cli_policy *p, const char *arg)
{
	size_t k = p->p.nkeep_tags;
	int rc;

	if (k == sizeof p->keep_tags / sizeof *p->keep_tags)
		return cli_usage(cmd, "too many --keep-tag options");
	rc = strv_push_split(&p->keep_tags[k], arg, ',');
	if (rc < 0)
		return cli_fail(c, rc, "%s", cmd->name);
	if (!p->keep_tags[k].n)
		return cli_usage(cmd, "--keep-tag wants a tag");
	p->lists[k] = strv_get(&p->keep_tags[k]);
	p->p.nkeep_tags++;
	p->p.keep_tags = p->lists;
	return CLI_EXIT_OK;
}

int cli_policy_opt(const struct cli *c, const struct cli_command *cmd,
		   struct cli_filter *f, struct cli_policy *p, int ch,
		   const char *arg)
{
	long v;
	int rc = cli_filter_opt(f, ch == 'H' ? CLI_OPT_HOST : ch, arg);

	if (rc < 0)
		return cli_fail(c, rc, "%s", cmd->name);
	if (rc > 0)
		return CLI_EXIT_OK;
	if (ch >= CLI_OPT_KEEP && ch < CLI_OPT_KEEP + _POLICY_BUCKET_MAX) {
		/* "unlimited" (or -1): every bucket there is */
		if (!strcmp(arg, "unlimited") || !strcmp(arg, "-1"))
			p->p.count[ch - CLI_OPT_KEEP] = POLICY_UNLIMITED;
		else if (parse_int(arg, 0, 1000000000, &v) < 0)
			return cli_usage(cmd, "bad count \"%s\" (a number or "
					 "\"unlimited\")", arg);
		else
			p->p.count[ch - CLI_OPT_KEEP] = (unsigned)v;
	} else if (ch == CLI_OPT_WITHIN ||
		   (ch > CLI_OPT_WITHIN_BUCKET &&
		    ch < CLI_OPT_WITHIN_BUCKET + _POLICY_BUCKET_MAX)) {
		struct policy_duration *d = ch == CLI_OPT_WITHIN ?
			&p->p.within :
			&p->p.within_bucket[ch - CLI_OPT_WITHIN_BUCKET];

		if (policy_duration_parse(arg, d) < 0)
			return cli_usage(cmd, "bad duration \"%s\" (want e.g. "
					 "1y2m7d3h)", arg);
	} else if (ch == CLI_OPT_KEEP_TAG) {
		return keep_tag_add(c, cmd, p, arg);
	} else if (ch == CLI_OPT_GROUP_BY) {
		if (parse_group_by(arg, &p->group_by) < 0)
			return cli_usage(cmd, "--group-by takes host, paths "
					 "and tags, not \"%s\"", arg);
		p->group_by_given = 1;
	} else {
		return -1;
	}
	return CLI_EXIT_OK;
}

/* ============================== Grouping =============================== */

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the sorted strings of v to k. */
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

	if (by & CLI_GROUP_HOST)
		rc = strv_push(&k, s->hostname ? s->hostname : "");
	if (rc == 0 && (by & CLI_GROUP_PATHS)) {
		rc = key_add_sorted(&k, s->paths, s->npaths);
		if (rc == 0)
			rc = strv_push(&k, "\x01");
	}
	if (rc == 0 && (by & CLI_GROUP_TAGS))
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

static int group_push(struct cli_group *g, size_t i)
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
			struct cli_group **ret, size_t *ret_n)
{
	struct cli_group *g = calloc(n ? n : 1, sizeof *g);
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

/* Applies the policy to one group. */
static int group_decide(const struct policy *p, const struct snapshot *v,
			struct cli_group *g)
{
	struct policy_snap *ps = calloc(g->n, sizeof *ps);
	int rc;

	if (!ps)
		return CAIRN_E_NOMEM;
	for (size_t k = 0; k < g->n; k++) {
		const struct snapshot *s = &v[g->idx[k]];

		ps[k].time_sec = s->time_sec;
		ps[k].time_nsec = s->time_nsec;
		ps[k].tz_offset = s->tz_offset;
		ps[k].tags = (const char *const *)s->tags;
		ps[k].ntags = s->ntags;
		memcpy(ps[k].id, s->id, 32);
	}
	rc = policy_apply(p, ps, g->n, &g->dec);
	free(ps);
	return rc;
}

int cli_policy_apply(const struct cli *c, const struct cli_policy *p,
		     const struct snapshot *v, size_t n,
		     struct cli_group **ret, size_t *ret_n)
{
	int rc;

	*ret = NULL;
	*ret_n = 0;
	rc = groups_build(v, n, p->group_by, ret, ret_n);
	if (rc < 0)
		return cli_fail(c, rc, "group snapshots");
	for (size_t i = 0; i < *ret_n; i++) {
		rc = group_decide(&p->p, v, &(*ret)[i]);
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

void cli_groups_free(struct cli_group *g, size_t n)
{
	for (size_t i = 0; g && i < n; i++) {
		free(g[i].key);
		free(g[i].idx);
		policy_decisions_free(g[i].dec, g[i].n);
	}
	free(g);
}
