/* cmd_stats.c: cairn stats: sizes and counts of a snapshot or the whole
 * repository. */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static double ratio(const struct repo_stats *st)
{
	return st->blobs_size_stored
		       ? (double)st->blobs_size_raw /
				 (double)st->blobs_size_stored
		       : 0.0;
}

static int print_json(const struct repo_stats *st,
		      const struct prune_result *pr)
{
	json_t *j = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:f, s:o, s:o, s:o}",
			  "total_size", jout_u64(st->total_size),
			  "total_file_count", jout_u64(st->total_files),
			  "snapshots_count", jout_u64(st->snapshots),
			  "total_blob_count", jout_u64(st->blobs),
			  "total_uncompressed_size",
			  jout_u64(st->blobs_size_raw),
			  "total_stored_size", jout_u64(st->blobs_size_stored),
			  "compression_ratio", ratio(st),
			  "pack_count", jout_u64(st->packs),
			  "pack_size", jout_u64(st->packs_size),
			  "index_blob_count", jout_u64(st->index_blobs));
	if (j && pr)
		json_object_set_new(
			j, "prune",
			json_pack("{s:o, s:o, s:o, s:o, s:o}",
				  "reclaimable_size",
				  jout_u64(pr->reclaimable_bytes),
				  "unused_packs", jout_u64(pr->unused_packs),
				  "unused_packs_size",
				  jout_u64(pr->unused_packs_bytes),
				  "unused_size_in_used_packs",
				  jout_u64(pr->unused_bytes),
				  "waiting_size", jout_u64(pr->pending_bytes)));
	return jout_print(j, stdout);
}

static void print_text(const struct cli *c, const struct snapshot *s,
		       const struct repo_stats *st,
		       const struct prune_result *pr)
{
	char a[32], b[32], id[9];

	if (s) {
		fmt_short_id(s->id, id);
		printf("Stats for snapshot %s in %s:\n", id, c->repo_url);
	} else {
		printf("Stats for all snapshots in %s:\n", c->repo_url);
	}
	printf("  %-26s %" PRIu64 "\n", "Snapshots processed:",
	       st->snapshots);
	printf("  %-26s %" PRIu64 "\n", "Total File Count:", st->total_files);
	fmt_bytes(st->total_size, a);
	printf("  %-26s %s\n", "Total Size:", a);
	printf("  %-26s %" PRIu64 "\n", "Unique blobs:", st->blobs);
	fmt_bytes(st->blobs_size_raw, a);
	fmt_bytes(st->blobs_size_stored, b);
	printf("  %-26s %s (%s uncompressed)\n", "Unique blobs stored:", b, a);
	fmt_bytes(st->packs_size, a);
	printf("  %-26s %s in %" PRIu64 " packs\n", "Stored size (packs):", a,
	       st->packs);
	if (st->blobs_size_stored)
		printf("  %-26s %.2fx\n", "Compression ratio:", ratio(st));
	if (pr) {
		fmt_bytes(pr->reclaimable_bytes, a);
		printf("  %-26s %s\n", "Reclaimable by prune:", a);
		fmt_bytes(pr->unused_packs_bytes, a);
		fmt_bytes(pr->unused_bytes, b);
		printf("  %-26s %s in %" PRIu64 " packs no snapshot needs,\n"
		       "  %-26s %s unneeded inside packs in use\n", "", a,
		       pr->unused_packs, "", b);
		if (pr->pending_bytes) {
			fmt_bytes(pr->pending_bytes, a);
			printf("  %-26s %s recorded, awaiting deletion\n", "", a);
		}
	}
}

static int run(struct cli *c, int argc, char **argv)
{
	struct cli_filter f = CLI_FILTER_INIT;
	struct repo_stats st;
	struct snapshot snap;
	struct repo *r = NULL;
	int rc, ex, have_snap = 0;

	ex = cli_filter_parse(c, &cmd_stats, argc, argv, &f);
	if (ex >= 0)
		goto out;
	if (argc - optind > 1) {
		ex = cli_usage(&cmd_stats, "unexpected argument \"%s\"",
			       argv[optind + 1]);
		goto out;
	}
	ex = cli_open(c, &r);
	if (ex != CLI_EXIT_OK)
		goto out;
	if (optind < argc) {
		ex = cli_snapshot_find(c, r, argv[optind], cli_filter_get(&f),
				       &snap);
		if (ex != CLI_EXIT_OK)
			goto out;
		have_snap = 1;
	}
	memset(&st, 0, sizeof st);
	rc = repo_stats_get(r, have_snap ? &snap : NULL, &st);
	if (rc < 0) {
		ex = cli_fail(c, rc, "stats");
		goto out;
	}
	/* the whole repository: what prune would reclaim, from a dry run */
	struct prune_opts po;
	struct prune_result pr;
	int have_pr = 0;
	if (!have_snap) {
		cli_prune_defaults(&po);
		po.dry_run = 1;
		po.interrupt = &cli_interrupted;
		rc = repo_prune(r, &po, &pr);
		if (rc == CAIRN_E_INTERRUPTED) {
			ex = cli_fail(c, rc, "stats");
			goto out;
		}
		have_pr = rc == 0;
		if (rc < 0 && !c->quiet)
			fprintf(stderr, "cairn: warning: reclaimable space "
				"unknown: %s\n", cairn_strerror(rc));
	}
	if (c->json) {
		rc = print_json(&st, have_pr ? &pr : NULL);
		if (rc < 0)
			ex = cli_fail(c, rc, "print stats");
	} else {
		print_text(c, have_snap ? &snap : NULL, &st, have_pr ? &pr : NULL);
	}
out:
	if (have_snap)
		snapshot_free(&snap);
	if (r)
		repo_close(r);
	cli_filter_free(&f);
	return ex;
}

const struct cli_command cmd_stats = {
	.name = "stats",
	.summary = "show sizes and counts",
	.help =
	"usage: cairn stats [SNAPSHOT] [options]\n"
	"\n"
	"Shows the number of files and their size when restored, the unique "
	"blobs\n"
	"they reference (uncompressed and stored size), the packs of the "
	"repository\n"
	"and the compression ratio, for SNAPSHOT (an ID, a unique ID prefix, "
	"or\n"
	"\"latest\") or for all snapshots.  With --json, one object: "
	"total_size,\n"
	"total_file_count, snapshots_count, total_blob_count, "
	"total_uncompressed_size,\n"
	"total_stored_size, compression_ratio, pack_count, pack_size, "
	"index_blob_count, and for the whole repository \"prune\": "
	"{reclaimable_size,\n"
	"unused_packs, unused_packs_size, unused_size_in_used_packs, "
	"waiting_size}.\n"
	"\n"
	"Options:\n"
	"  -H, --host HOST        with \"latest\": the newest snapshot of HOST\n"
	"      --tag TAG[,TAG]    with \"latest\": ... having every TAG\n"
	"      --path PATH        with \"latest\": ... including PATH\n",
	.run = run,
};
