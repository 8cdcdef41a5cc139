/* cmd_restore.c: cairn restore: write a snapshot's files into a directory. */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_VERIFY = 256, OPT_THREADS };

static int print_summary(const struct cli *c, const struct snapshot *s,
			 const struct restore_result *res, double dur)
{
	char id[65], b[32], d[32];
	json_t *o;

	if (c->json) {
		fmt_id(s->id, id);
		o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:f, s:s}",
			      "message_type", "summary",
			      "files_restored", jout_u64(res->files),
			      "dirs_restored", jout_u64(res->dirs),
			      "others_restored", jout_u64(res->others),
			      "bytes_restored", jout_u64(res->bytes),
			      "files_skipped", jout_u64(res->skipped),
			      "error_count", jout_u64(res->errors),
			      "total_duration", dur, "snapshot_id", id);
		return jout_print(o, stdout);
	}
	if (c->quiet)
		return 0;
	fmt_bytes(res->bytes, b);
	fmt_duration(dur, d);
	printf("Summary: restored %" PRIu64 " files, %" PRIu64 " dirs, %"
	       PRIu64 " other entries (%s) in %s", res->files, res->dirs,
	       res->others, b, d);
	if (res->skipped)
		printf(", skipped %" PRIu64, res->skipped);
	if (res->errors)
		printf(", %" PRIu64 " errors", res->errors);
	putchar('\n');
	return 0;
}

static int run(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_FILTER_OPTIONS,
		{"target", required_argument, NULL, 't'},
		{"include", required_argument, NULL, 'i'},
		{"exclude", required_argument, NULL, 'e'},
		{"verify", no_argument, NULL, OPT_VERIFY},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_filter f = CLI_FILTER_INIT;
	struct strv inc = STRV_INIT, exc = STRV_INIT;
	struct restore_opts o;
	struct restore_result res;
	struct snapshot snap;
	struct render rd;
	struct repo *r = NULL;
	char id[9], t[32], *paths;
	const char *target = NULL;
	double t0;
	long v;
	int ch, rc, ex, have_snap = 0;

	memset(&o, 0, sizeof o);
	while ((ch = getopt_long(argc, argv, ":ht:i:e:H:", opts, NULL)) !=
	       -1) {
		if (ch == 'H')
			ch = CLI_OPT_HOST;
		rc = cli_filter_opt(&f, ch, optarg);
		if (rc == 0 && ch == 'i')
			rc = strv_push(&inc, optarg);
		if (rc == 0 && ch == 'e')
			rc = strv_push(&exc, optarg);
		if (rc < 0) {
			ex = cli_fail(c, rc, "restore");
			goto out;
		}
		if (rc > 0 || ch == 'i' || ch == 'e')
			continue;
		switch (ch) {
		case 't':
			target = optarg;
			continue;
		case OPT_VERIFY:
			o.verify = 1;
			continue;
		case OPT_THREADS:
			if (parse_int(optarg, 1, 1024, &v) < 0) {
				ex = cli_usage(&cmd_restore,
					       "--threads must be 1..1024");
				goto out;
			}
			o.threads = (int)v;
			continue;
		case 'h':
			ex = cli_help_print(&cmd_restore);
			goto out;
		default:
			ex = cli_bad_option(&cmd_restore, ch, argv);
			goto out;
		}
	}
	if (optind >= argc) {
		ex = cli_usage(&cmd_restore,
			       "which snapshot? (an ID or \"latest\")");
		goto out;
	}
	if (optind + 1 < argc) {
		ex = cli_usage(&cmd_restore, "unexpected argument \"%s\"",
			       argv[optind + 1]);
		goto out;
	}
	if (!target || !*target) {
		ex = cli_usage(&cmd_restore, "--target DIR is required");
		goto out;
	}
	ex = cli_open(c, &r);
	if (ex != CLI_EXIT_OK)
		goto out;
	ex = cli_snapshot_find(c, r, argv[optind], cli_filter_get(&f), &snap);
	if (ex != CLI_EXIT_OK)
		goto out;
	have_snap = 1;
	if (!c->quiet && !c->json) {
		paths = fmt_paths(&snap);
		fmt_short_id(snap.id, id);
		fmt_local_time(snap.time_sec, t);
		printf("restoring snapshot %s of [%s] at %s to %s\n", id,
		       paths ? paths : "", t, target);
		fflush(stdout);
		free(paths);
	}

	memset(&res, 0, sizeof res);
	o.target = target;
	o.include = strv_get(&inc);
	o.exclude = strv_get(&exc);
	o.on_event = render_event;
	o.event_ud = &rd;
	o.interrupt = &cli_interrupted;
	render_init(&rd, c, 1);
	t0 = now_mono();
	rc = repo_restore(r, &snap, &o, &res);
	render_done(&rd);
	if (rc < 0 && rc != CAIRN_E_PARTIAL) {
		ex = cli_fail(c, rc, "restore to %s", target);
		goto out;
	}
	if (print_summary(c, &snap, &res, now_mono() - t0) < 0) {
		ex = cli_fail(c, CAIRN_E_NOMEM, "print summary");
		goto out;
	}
	if (rc == CAIRN_E_PARTIAL || res.errors)
		ex = cli_error(c, CLI_EXIT_FATAL,
			       "restore: %" PRIu64 " entr%s could not be "
			       "restored (the others were)", res.errors,
			       res.errors == 1 ? "y" : "ies");
out:
	if (have_snap)
		snapshot_free(&snap);
	if (r)
		repo_close(r);
	strv_free(&inc);
	strv_free(&exc);
	cli_filter_free(&f);
	return ex;
}

const struct cli_command cmd_restore = {
	.name = "restore",
	.summary = "restore a snapshot into a directory",
	.help =
	"usage: cairn restore SNAPSHOT --target DIR [options]\n"
	"\n"
	"Restores SNAPSHOT (an ID, a unique ID prefix, or \"latest\") into "
	"DIR.\n"
	"Entries whose names would escape DIR are refused and reported.  "
	"When some\n"
	"entries fail, the others are still restored and the exit status "
	"is 1.\n"
	"\n"
	"Options:\n"
	"  -t, --target DIR       where to restore (required)\n"
	"  -i, --include PATTERN  restore only paths matching PATTERN "
	"(repeatable)\n"
	"  -e, --exclude PATTERN  do not restore paths matching PATTERN "
	"(repeatable)\n"
	"      --verify           read restored files back and compare\n"
	"      --threads N        worker threads (default: number of CPUs)\n"
	"  -H, --host HOST        with \"latest\": the newest snapshot of HOST\n"
	"      --tag TAG[,TAG]    with \"latest\": ... having every TAG\n"
	"      --path PATH        with \"latest\": ... including PATH\n"
	"\n"
	"PATTERN is a shell pattern (fnmatch) matched against the path in "
	"the\n"
	"snapshot.  With --json, JSON lines on stdout: \"status\", "
	"\"error\" and a\n"
	"last \"summary\".\n",
	.run = run,
};
