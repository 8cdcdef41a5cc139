/* cmd_backup.c: cairn backup: files, standard input, or a command's output.
 *
 * Everything after "--" is a path (file backups) or the command and its
 * arguments (--stdin-from-command); options are only read before it.
 */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <string.h>

enum {
	OPT_TAG = 256, OPT_HOST, OPT_TIME, OPT_FORCE, OPT_STDIN,
	OPT_STDIN_NAME, OPT_STDIN_CMD, OPT_LEVEL, OPT_THREADS,
};

struct backup_args {
	struct strv tags, paths;
	const char *host, *stdin_name;
	char **command;
	int64_t time_sec;
	int has_time, force, from_stdin, from_cmd;
	int level, threads;
};

/* Index of the first "--" in argv, or argc. */
static int find_dashdash(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			return i;
	return argc;
}

/* Returns -1 to go on, or an exit code. */
static int parse(const struct cli *c, struct backup_args *a, int argc,
		 char **argv)
{
	static const struct option opts[] = {
		{"tag", required_argument, NULL, OPT_TAG},
		{"host", required_argument, NULL, OPT_HOST},
		{"time", required_argument, NULL, OPT_TIME},
		{"force", no_argument, NULL, OPT_FORCE},
		{"stdin", no_argument, NULL, OPT_STDIN},
		{"stdin-filename", required_argument, NULL, OPT_STDIN_NAME},
		{"stdin-from-command", no_argument, NULL, OPT_STDIN_CMD},
		{"compression-level", required_argument, NULL, OPT_LEVEL},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int dd = find_dashdash(argc, argv), ch;
	long v;

	while ((ch = getopt_long(dd, argv, ":hH:f", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_TAG:
			if (strv_push_split(&a->tags, optarg, ',') < 0)
				return cli_fail(c, CAIRN_E_NOMEM, "backup");
			break;
		case 'H':
		case OPT_HOST:
			a->host = optarg;
			break;
		case OPT_TIME:
			if (parse_local_time(optarg, &a->time_sec) < 0)
				return cli_usage(&cmd_backup,
						 "--time wants \"YYYY-MM-DD "
						 "HH:MM:SS\", not \"%s\"",
						 optarg);
			a->has_time = 1;
			break;
		case 'f':
		case OPT_FORCE:
			a->force = 1;
			break;
		case OPT_STDIN:
			a->from_stdin = 1;
			break;
		case OPT_STDIN_NAME:
			if (!*optarg || strchr(optarg, '/'))
				return cli_usage(&cmd_backup,
						 "--stdin-filename must be a "
						 "plain file name");
			a->stdin_name = optarg;
			break;
		case OPT_STDIN_CMD:
			a->from_cmd = 1;
			break;
		case OPT_LEVEL:
			if (parse_int(optarg, 1, 19, &v) < 0)
				return cli_usage(&cmd_backup,
						 "--compression-level must be "
						 "1..19");
			a->level = (int)v;
			break;
		case OPT_THREADS:
			if (parse_int(optarg, 1, 1024, &v) < 0)
				return cli_usage(&cmd_backup,
						 "--threads must be 1..1024");
			a->threads = (int)v;
			break;
		case 'h':
			return cli_help_print(&cmd_backup);
		default:
			return cli_bad_option(&cmd_backup, ch, argv);
		}
	}
	if (a->from_stdin && a->from_cmd)
		return cli_usage(&cmd_backup, "--stdin and --stdin-from-command "
				 "exclude each other");
	if (a->from_cmd) {
		if (optind < dd)
			return cli_usage(&cmd_backup,
					 "unexpected argument \"%s\" (the "
					 "command goes after \"--\")",
					 argv[optind]);
		if (dd + 1 >= argc)
			return cli_usage(&cmd_backup,
					 "--stdin-from-command needs \"-- "
					 "COMMAND [ARG...]\"");
		a->command = argv + dd + 1;
		return -1;
	}
	for (int i = optind; i < argc; i++) {
		if (i == dd)
			continue;
		if (strv_push(&a->paths, argv[i]) < 0)
			return cli_fail(c, CAIRN_E_NOMEM, "backup");
	}
	if (a->from_stdin && a->paths.n)
		return cli_usage(&cmd_backup,
				 "--stdin takes no paths (got \"%s\")",
				 a->paths.v[0]);
	if (!a->from_stdin && !a->paths.n)
		return cli_usage(&cmd_backup, "nothing to back up: give at "
				 "least one path, --stdin or "
				 "--stdin-from-command");
	if (a->stdin_name && !a->from_stdin)
		return cli_usage(&cmd_backup, "--stdin-filename needs --stdin "
				 "or --stdin-from-command");
	return -1;
}

static double duration_of(const struct snapshot_summary *s, double measured)
{
	double d;

	if (!s->backup_end_sec)
		return measured;
	d = (double)(s->backup_end_sec - s->backup_start_sec) +
	    ((double)s->backup_end_nsec - (double)s->backup_start_nsec) / 1e9;
	return d >= 0 ? d : measured;
}

static int print_json(const struct backup_result *res, double dur)
{
	const struct snapshot_summary *s = &res->summary;
	char id[65];
	json_t *o, *sum;

	sum = jout_summary(s, time_local_offset(s->backup_start_sec));
	o = json_pack("{s:s}", "message_type", "summary");
	if (!o || !sum || json_object_update(o, sum) < 0 ||
	    json_object_set_new(o, "files_failed",
				jout_u64(res->files_failed)) < 0 ||
	    json_object_set_new(o, "total_duration", json_real(dur)) < 0)
		goto fail;
	if (res->has_snapshot) {
		fmt_id(res->snapshot_id, id);
		if (json_object_set_new(o, "snapshot_id", json_string(id)) < 0)
			goto fail;
	}
	json_decref(sum);
	return jout_print(o, stdout);
fail:
	json_decref(sum);
	json_decref(o);
	return CAIRN_E_NOMEM;
}

static void print_text(const struct backup_result *res, double dur)
{
	const struct snapshot_summary *s = &res->summary;
	char a[32], b[32], d[32], id[9];

	fmt_bytes(s->data_added, a);
	fmt_bytes(s->data_added_packed, b);
	printf("\nFiles: %" PRIu64 " new, %" PRIu64 " changed, %" PRIu64
	       " unmodified\n", s->files_new, s->files_changed,
	       s->files_unmodified);
	printf("Dirs: %" PRIu64 " new, %" PRIu64 " changed, %" PRIu64
	       " unmodified\n", s->dirs_new, s->dirs_changed,
	       s->dirs_unmodified);
	printf("Added to the repository: %s (%s stored)\n\n", a, b);
	fmt_bytes(s->total_bytes_processed, a);
	fmt_duration(dur, d);
	printf("processed %" PRIu64 " files, %s in %s\n",
	       s->total_files_processed, a, d);
	if (res->has_snapshot) {
		fmt_short_id(res->snapshot_id, id);
		printf("snapshot %s saved\n", id);
	}
}

static int run(struct cli *c, int argc, char **argv)
{
	struct backup_args a;
	struct backup_opts o;
	struct backup_result res;
	struct render rd;
	struct repo *r = NULL;
	double t0;
	int rc, prc = 0, ex;

	memset(&a, 0, sizeof a);
	ex = parse(c, &a, argc, argv);
	if (ex >= 0)
		goto out;
	ex = cli_open(c, &r);
	if (ex != CLI_EXIT_OK)
		goto out;

	memset(&o, 0, sizeof o);
	memset(&res, 0, sizeof res);
	o.kind = a.from_cmd ? SRC_COMMAND : a.from_stdin ? SRC_STDIN
							 : SRC_FILES;
	o.paths = strv_get(&a.paths);
	o.stdin_filename = a.stdin_name;
	o.command = a.command;
	o.stdin_fd = 0;
	o.tags = strv_get(&a.tags);
	o.hostname = a.host;
	o.time_sec = a.time_sec;
	o.has_time = a.has_time;
	o.compression_level = a.level;
	o.force = a.force;
	o.threads = a.threads;
	o.on_event = render_event;
	o.event_ud = &rd;
	o.interrupt = &cli_interrupted;

	render_init(&rd, c, 1);
	/* totals feed the progress line and the JSON status lines */
	o.want_totals = rd.progress_tty || (rd.json && !c->quiet);
	t0 = now_mono();
	rc = repo_backup(r, &o, &res);
	render_done(&rd);
	if (rc < 0 && rc != CAIRN_E_PARTIAL) {
		ex = cli_fail(c, rc, "backup");
		goto out;
	}
	if (c->json)
		prc = print_json(&res, duration_of(&res.summary,
						   now_mono() - t0));
	else if (!c->quiet)
		print_text(&res, duration_of(&res.summary, now_mono() - t0));
	if (prc < 0) {
		ex = cli_fail(c, prc, "print summary");
		goto out;
	}
	ex = CLI_EXIT_OK;
	if (res.files_failed || rc == CAIRN_E_PARTIAL) {
		fflush(stdout);
		if (!c->json)
			fprintf(stderr, "warning: %" PRIu64 " file%s could not "
				"be read; the snapshot lacks %s\n",
				res.files_failed,
				res.files_failed == 1 ? "" : "s",
				res.files_failed == 1 ? "it" : "them");
		ex = CLI_EXIT_PARTIAL;
	}
out:
	if (r)
		repo_close(r);
	strv_free(&a.tags);
	strv_free(&a.paths);
	return ex;
}

const struct cli_command cmd_backup = {
	.name = "backup",
	.summary = "save files, standard input or a command's output",
	.help =
	"usage: cairn backup [options] PATH...\n"
	"       cairn backup --stdin [--stdin-filename NAME] [options]\n"
	"       cairn backup --stdin-from-command [--stdin-filename NAME] "
	"[options] -- COMMAND [ARG...]\n"
	"\n"
	"Saves a snapshot of the given files and directories, of standard "
	"input, or\n"
	"of the output of COMMAND.  With --stdin-from-command the snapshot "
	"is only\n"
	"saved when COMMAND exits with status 0.\n"
	"\n"
	"Options:\n"
	"      --tag TAG[,TAG]    add tags (repeatable)\n"
	"  -H, --host HOST        host name to record (default: this host)\n"
	"      --time TIME        snapshot time, \"YYYY-MM-DD HH:MM:SS\" in "
	"local time\n"
	"  -f, --force            read every file again, ignoring the parent "
	"snapshot\n"
	"      --stdin            back up standard input\n"
	"      --stdin-filename NAME\n"
	"                         file name of the stream in the snapshot "
	"(default \"stdin\")\n"
	"      --stdin-from-command\n"
	"                         back up the standard output of the command "
	"after \"--\"\n"
	"      --compression-level N\n"
	"                         zstd level for this run, 1..19\n"
	"      --threads N        worker threads (default: number of CPUs)\n"
	"\n"
	"Output: a summary on stdout; progress on stderr when it is a "
	"terminal; with\n"
	"-v each file and what happened to it.  With --json, JSON lines on "
	"stdout:\n"
	"\"status\" (a few per second, not with -q; percent_done is a "
	"fraction 0..1),\n"
	"\"error\" (a file that could not be read), \"verbose_status\" "
	"(with -v) and\n"
	"a last \"summary\" line holding snapshot_id.\n"
	"\n"
	"Exit status 3: the snapshot was saved, but some files could not be "
	"read.\n",
	.run = run,
};
