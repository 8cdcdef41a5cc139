/* cmd_stats.c: cairn stats: sizes and counts of a snapshot or the whole
 * repository. */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <string.h>

static double ratio(const struct repo_stats *st)
{
	return st->blobs_size_stored
		       ? (double)st->blobs_size_raw /
				 (double)st->blobs_size_stored
		       : 0.0;
}

static int print_json(const struct repo_stats *st)
{
	return jout_print(
		json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:f, s:o, s:o, s:o}",
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
			  "index_blob_count", jout_u64(st->index_blobs)),
		stdout);
}

static void print_text(const struct cli *c, const struct snapshot *s,
		       const struct repo_stats *st)
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
	if (c->json) {
		rc = print_json(&st);
		if (rc < 0)
			ex = cli_fail(c, rc, "print stats");
	} else {
		print_text(c, have_snap ? &snap : NULL, &st);
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
	"index_blob_count.\n"
	"\n"
	"Options:\n"
	"  -H, --host HOST        with \"latest\": the newest snapshot of HOST\n"
	"      --tag TAG[,TAG]    with \"latest\": ... having every TAG\n"
	"      --path PATH        with \"latest\": ... including PATH\n",
	.run = run,
};
