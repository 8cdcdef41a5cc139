/* cmd_dump.c: cairn dump: write one file of a snapshot to stdout. */
#include "cli.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

static int run(struct cli *c, int argc, char **argv)
{
	struct cli_filter f = CLI_FILTER_INIT;
	struct snapshot snap;
	struct repo *r = NULL;
	int rc, ex, have_snap = 0;

	ex = cli_filter_parse(c, &cmd_dump, argc, argv, &f);
	if (ex >= 0)
		goto out;
	if (argc - optind != 2) {
		ex = cli_usage(&cmd_dump, "want SNAPSHOT and PATH");
		goto out;
	}
	ex = cli_open(c, &r);
	if (ex != CLI_EXIT_OK)
		goto out;
	ex = cli_snapshot_find(c, r, argv[optind], cli_filter_get(&f), &snap);
	if (ex != CLI_EXIT_OK)
		goto out;
	have_snap = 1;
	fflush(stdout);
	rc = repo_dump(r, &snap, argv[optind + 1], STDOUT_FILENO,
		       &cli_interrupted);
	if (rc < 0)
		ex = cli_fail(c, rc, "dump %s", argv[optind + 1]);
out:
	if (have_snap)
		snapshot_free(&snap);
	if (r)
		repo_close(r);
	cli_filter_free(&f);
	return ex;
}

const struct cli_command cmd_dump = {
	.name = "dump",
	.summary = "write a file of a snapshot to standard output",
	.help =
	"usage: cairn dump [options] SNAPSHOT PATH\n"
	"\n"
	"Writes the content of the file PATH of SNAPSHOT (an ID, a unique ID "
	"prefix,\n"
	"or \"latest\") to standard output.  PATH is as \"cairn ls\" shows "
	"it; for a\n"
	"backup of standard input it is /NAME (default /stdin).\n"
	"\n"
	"Options:\n"
	"  -H, --host HOST        with \"latest\": the newest snapshot of HOST\n"
	"      --tag TAG[,TAG]    with \"latest\": ... having every TAG\n"
	"      --path PATH        with \"latest\": ... including PATH\n",
	.run = run,
};
