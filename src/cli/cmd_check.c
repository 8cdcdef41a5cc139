/* cmd_check.c: cairn check: verify the repository's structure and,
 * optionally, its data. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_READ_DATA = 256, OPT_SUBSET, OPT_THREADS, OPT_REPLICAS };

/* "N%" or "N" with 0 < N <= 100 (decimals allowed). */
static int parse_percent(const char *s, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno)
		return CAIRN_E_INVAL;
	if (*end == '%')
		end++;
	if (*end || !(v > 0.0 && v <= 100.0))
		return CAIRN_E_INVAL;
	*ret = v;
	return 0;
}

static int print_json(const struct check_result *res)
{
	return jout_print(json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
				    "message_type", "summary",
				    "num_errors", jout_u64(res->errors),
				    "num_notices", jout_u64(res->notices),
				    "snapshots", jout_u64(res->snapshots),
				    "trees", jout_u64(res->trees),
				    "blobs", jout_u64(res->blobs),
				    "packs", jout_u64(res->packs),
				    "packs_read", jout_u64(res->packs_read)),
			  stdout);
}

static int run(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"read-data", no_argument, NULL, OPT_READ_DATA},
		{"read-data-subset", required_argument, NULL, OPT_SUBSET},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"replicas", no_argument, NULL, OPT_REPLICAS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct check_opts o;
	struct check_result res;
	struct render rd;
	struct repo *r = NULL;
	int ch, rc, ex, text = !c->quiet && !c->json, replicas = 0;
	int replicas_clean = 1;
	long v;

	memset(&o, 0, sizeof o);
	memset(&res, 0, sizeof res);
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_READ_DATA:
			if (o.read_data && o.subset_percent < 100.0)
				return cli_usage(&cmd_check, "give --read-data "
						 "or --read-data-subset, not "
						 "both");
			o.read_data = 1;
			o.subset_percent = 100.0;
			break;
		case OPT_SUBSET:
			if (o.read_data)
				return cli_usage(&cmd_check, "give --read-data "
						 "or --read-data-subset, not "
						 "both");
			if (strchr(optarg, '/'))
				return cli_usage(&cmd_check,
						 "--read-data-subset: the n/t "
						 "form is not supported; give "
						 "a percentage such as 10%%");
			if (parse_percent(optarg, &o.subset_percent) < 0)
				return cli_usage(&cmd_check,
						 "--read-data-subset wants a "
						 "percentage above 0 and at "
						 "most 100, such as 10%%, not "
						 "\"%s\"", optarg);
			o.read_data = 1;
			break;
		case OPT_THREADS:
			if (parse_int(optarg, 1, 1024, &v) < 0)
				return cli_usage(&cmd_check,
						 "--threads must be 1..1024");
			o.threads = (int)v;
			break;
		case OPT_REPLICAS:
			replicas = 1;
			break;
		case 'h':
			return cli_help_print(&cmd_check);
		default:
			return cli_bad_option(&cmd_check, ch, argv);
		}
	}
	if (optind < argc)
		return cli_usage(&cmd_check, "unexpected argument \"%s\"",
				 argv[optind]);
	ex = cli_open(c, &r);
	if (ex != CLI_EXIT_OK)
		return ex;
	if (replicas) {
		if (text)
			fprintf(stderr, "compare the %zu stores%s\n",
				c->nstores, o.read_data
				? ", reading every copy" : "");
		ex = cli_replicas_run(c, r, o.read_data && o.subset_percent
					    >= 100.0, 0, &replicas_clean);
		if (ex != CLI_EXIT_OK)
			goto out;
	}
	if (text) {
		fprintf(stderr, "check snapshots, trees and blobs\n");
		if (o.read_data && o.subset_percent >= 100.0)
			fprintf(stderr, "read all data\n");
		else if (o.read_data)
			fprintf(stderr, "read %g%% of the data packs\n",
				o.subset_percent);
	}
	o.on_event = render_event;
	o.event_ud = &rd;
	o.interrupt = &cli_interrupted;
	render_init(&rd, c, 0);
	rc = repo_check(r, &o, &res);
	render_done(&rd);
	if (cli_interrupted) {
		ex = cli_fail(c, CAIRN_E_INTERRUPTED, "check");
		goto out;
	}
	if (rc < 0 && !(rc == CAIRN_E_CORRUPT && res.errors)) {
		ex = cli_fail(c, rc, "check");
		goto out;
	}
	if (c->json) {
		rc = print_json(&res);
		if (rc < 0) {
			ex = cli_fail(c, rc, "print summary");
			goto out;
		}
	} else if (text) {
		fprintf(stderr, "checked %" PRIu64 " snapshots, %" PRIu64
			" trees, %" PRIu64 " blobs, %" PRIu64 " packs",
			res.snapshots, res.trees, res.blobs, res.packs);
		if (o.read_data)
			fprintf(stderr, " (%" PRIu64 " read)", res.packs_read);
		fputc('\n', stderr);
	}
	if (res.errors) {
		ex = cli_error(c, CLI_EXIT_FATAL, "%" PRIu64 " error%s found",
			       res.errors, res.errors == 1 ? "" : "s");
		goto out;
	}
	if (!replicas_clean) {
		ex = cli_error(c, CLI_EXIT_FATAL, "the stores differ; run "
			       "\"cairn repair\" to heal them");
		goto out;
	}
	if (text)
		printf("no errors were found\n");
	ex = CLI_EXIT_OK;
out:
	repo_close(r);
	return ex;
}

const struct cli_command cmd_check = {
	.name = "check",
	.summary = "verify the repository",
	.help =
	"usage: cairn check [--read-data | --read-data-subset N%] "
	"[--replicas]\n"
	"\n"
	"Checks that every snapshot, tree and blob is present and consistent "
	"with\n"
	"the index and the packs.  With --read-data every pack is also read "
	"and\n"
	"every blob decrypted and hashed; --read-data-subset reads about N "
	"percent\n"
	"of the packs, chosen at random (\"N%\" or \"N\", 0 < N <= 100).\n"
	"\n"
	"Progress and findings go to stderr: \"error: <what>: <why>\" for each "
	"problem,\n"
	"\"notice: ...\" for harmless findings.  The result is \"no errors "
	"were found\"\n"
	"on stdout, or \"N errors found\" and exit status 1.  With --json, a "
	"summary\n"
	"object on stdout (num_errors, num_notices, snapshots, trees, blobs, "
	"packs,\n"
	"packs_read).\n"
	"\n"
	"With --replicas (a repository on several stores), the stores are "
	"first\n"
	"compared: every object must be on every store, and with --read-data "
	"every\n"
	"copy must hash to its name.  Each missing or corrupt copy is an "
	"error; a\n"
	"table per store follows (with --json, a \"replicas\" object comes "
	"first).\n"
	"\"cairn repair\" heals them.\n"
	"\n"
	"Options:\n"
	"      --read-data        read and verify all data\n"
	"      --read-data-subset N%\n"
	"                         read and verify N percent of the packs\n"
	"      --threads N        worker threads (default: number of CPUs)\n"
	"      --replicas         compare the stores of a replicated "
	"repository\n",
	.run = run,
};
