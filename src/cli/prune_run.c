/* prune_run.c: the prune options and report shared by `cairn prune` and
 * `cairn forget --prune`. */
#include "cli.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void cli_prune_defaults(struct prune_opts *o)
{
	memset(o, 0, sizeof *o);
	o->max_unused_percent = 5.0;
}

/* "90m", "24h", "2d", "1d12h", "3600s" or plain seconds. */
static int parse_seconds(const char *s, uint64_t *ret)
{
	uint64_t total = 0;
	if (!*s)
		return CAIRN_E_INVAL;
	while (*s) {
		if (!isdigit((unsigned char)*s))
			return CAIRN_E_INVAL;
		char *end;
		unsigned long long v = strtoull(s, &end, 10);
		uint64_t unit = 1;
		switch (*end) {
		case 'd': unit = 86400; end++; break;
		case 'h': unit = 3600; end++; break;
		case 'm': unit = 60; end++; break;
		case 's': end++; break;
		case '\0': break;
		default: return CAIRN_E_INVAL;
		}
		if (v > UINT64_MAX / unit / 2 || total > UINT64_MAX / 2)
			return CAIRN_E_INVAL;
		total += v * unit;
		s = end;
	}
	*ret = total;
	return 0;
}

int cli_prune_opt(const struct cli_command *cmd, struct prune_opts *o,
		  int ch, const char *arg)
{
	switch (ch) {
	case CLI_OPT_MAX_UNUSED: {
		size_t n = strlen(arg);
		o->max_unused_bytes = 0;
		if (!strcmp(arg, "unlimited")) {
			o->max_unused_percent = -1;
			return -1;
		}
		if (n > 1 && arg[n - 1] == '%') {
			char *end;
			double v = strtod(arg, &end);
			if (end == arg + n - 1 && v >= 0 && v < 100) {
				o->max_unused_percent = v;
				return -1;
			}
		} else if (parse_size(arg, &o->max_unused_bytes) == 0 &&
			   o->max_unused_bytes) {
			return -1;
		}
		return cli_usage(cmd, "--max-unused takes a percentage below "
				 "100%%, a size or \"unlimited\", not \"%s\"",
				 arg);
	}
	case CLI_OPT_MAX_REPACK:
		if (parse_size(arg, &o->max_repack_bytes) < 0)
			return cli_usage(cmd, "bad --max-repack-size \"%s\"",
					 arg);
		return -1;
	case CLI_OPT_GRACE:
		if (parse_seconds(arg, &o->grace) < 0 ||
		    o->grace < PRUNE_GRACE_MIN)
			return cli_usage(cmd, "--grace must be a duration of at "
					 "least 1h (like 36h or 2d), not \"%s\"",
					 arg);
		return -1;
	default:
		return 0;
	}
}

static void print_text(const struct prune_opts *o, const struct prune_result *s)
{
	char a[32], b[32], t[32];
	fmt_bytes(s->packs_bytes, a);
	printf("repository: %" PRIu64 " snapshots, %" PRIu64 " packs (%s), "
	       "%" PRIu64 " blobs\n", s->snapshots, s->packs, a, s->blobs);
	fmt_bytes(s->used_bytes, a);
	printf("needed:     %" PRIu64 " blobs, %s\n", s->blobs_used, a);
	fmt_bytes(s->unused_packs_bytes, a);
	fmt_bytes(s->unused_bytes, b);
	printf("unneeded:   %" PRIu64 " whole packs (%s; %" PRIu64
	       " not indexed), %s inside packs in use\n", s->unused_packs, a,
	       s->unindexed_packs, b);
	const char *would = o->dry_run ? "would " : "";
	if (s->ripe_records || s->deleted_packs || s->index_rewritten) {
		fmt_bytes(s->deleted_bytes, a);
		printf("%sdelete:  %" PRIu64 " packs (%s), %" PRIu64
		       " dictionaries; rewrite %" PRIu64 " index files "
		       "(%" PRIu64 " deletion records due)\n", would,
		       s->deleted_packs, a, s->deleted_dicts,
		       s->index_rewritten + s->index_superseded,
		       s->ripe_records);
		if (s->revived_packs || s->revived_dicts)
			printf("kept:       %" PRIu64 " packs and %" PRIu64
			       " dictionaries that a snapshot needs again\n",
			       s->revived_packs, s->revived_dicts);
	}
	if (s->repacked_packs) {
		fmt_bytes(s->repacked_bytes, a);
		fmt_bytes(s->repack_written, b);
		printf("%srepack:  %" PRIu64 " packs (%s read, %" PRIu64
		       " blobs, %s written)\n", would, s->repacked_packs, a,
		       s->repack_blobs, o->dry_run ? "?" : b);
	}
	if (s->marked_packs || s->marked_dicts) {
		fmt_bytes(s->marked_bytes, a);
		int64_t when = (s->marked_at ? s->marked_at : (int64_t)time(NULL)) +
			       (int64_t)s->grace;
		fmt_local_time(when, t);
		printf("%smark:    %" PRIu64 " packs (%s) and %" PRIu64
		       " dictionaries for deletion, due %s\n", would,
		       s->marked_packs, a, s->marked_dicts, t);
	}
	if (s->pending_packs) {
		fmt_bytes(s->pending_bytes, a);
		fmt_local_time(s->next_ripe, t);
		printf("waiting:    %" PRIu64 " packs (%s) marked earlier, "
		       "first due %s\n", s->pending_packs, a, t);
	}
	if (!s->ripe_records && !s->repacked_packs && !s->marked_packs &&
	    !s->marked_dicts && !s->index_rewritten && !s->index_superseded)
		printf("nothing to do\n");
}

static int print_json(const struct prune_opts *o, const struct prune_result *s)
{
	json_t *j = json_pack(
		"{s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
		" s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
		" s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I}",
		"message_type", "prune", "dry_run", o->dry_run,
		"snapshots", jout_u64(s->snapshots),
		"packs", jout_u64(s->packs),
		"packs_size", jout_u64(s->packs_bytes),
		"blobs", jout_u64(s->blobs),
		"blobs_used", jout_u64(s->blobs_used),
		"used_size", jout_u64(s->used_bytes),
		"unused_size_in_used_packs", jout_u64(s->unused_bytes),
		"unused_packs", jout_u64(s->unused_packs),
		"unused_packs_size", jout_u64(s->unused_packs_bytes),
		"unindexed_packs", jout_u64(s->unindexed_packs),
		"reclaimable_size", jout_u64(s->reclaimable_bytes),
		"marked_packs", jout_u64(s->marked_packs),
		"marked_size", jout_u64(s->marked_bytes),
		"marked_dictionaries", jout_u64(s->marked_dicts),
		"repacked_packs", jout_u64(s->repacked_packs),
		"repacked_size", jout_u64(s->repacked_bytes),
		"repacked_blobs", jout_u64(s->repack_blobs),
		"repack_written", jout_u64(s->repack_written),
		"due_records", jout_u64(s->ripe_records),
		"deleted_packs", jout_u64(s->deleted_packs),
		"deleted_size", jout_u64(s->deleted_bytes),
		"deleted_dictionaries", jout_u64(s->deleted_dicts),
		"revived_packs", jout_u64(s->revived_packs),
		"revived_dictionaries", jout_u64(s->revived_dicts),
		"index_rewritten", jout_u64(s->index_rewritten + s->index_superseded),
		"index_written", jout_u64(s->index_written),
		"waiting_packs", jout_u64(s->pending_packs),
		"waiting_size", jout_u64(s->pending_bytes),
		"grace_seconds", (json_int_t)s->grace,
		"next_due", (json_int_t)s->next_ripe);
	return jout_print(j, stdout);
}

int cli_prune_run(struct cli *c, struct repo *r, struct prune_opts *o)
{
	struct render rd;
	struct prune_result res;
	render_init(&rd, c, c->json);
	o->on_event = render_event;
	o->event_ud = &rd;
	o->interrupt = &cli_interrupted;
	int rc = repo_prune(r, o, &res);
	render_done(&rd);
	if (rc < 0)
		return cli_fail(c, rc, "prune");
	if (c->json) {
		rc = print_json(o, &res);
		if (rc < 0)
			return cli_fail(c, rc, "print prune result");
	} else if (!c->quiet) {
		print_text(o, &res);
	}
	return CLI_EXIT_OK;
}
