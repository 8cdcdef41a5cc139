/* cmd_prune.c: cairn prune: delete data no snapshot needs, in two phases
 * that stay safe while other hosts back up (docs/format.md section 13). */
#include "cli.h"

#include <getopt.h>

static int run(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_PRUNE_OPTIONS,
		{"dry-run", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct prune_opts o;
	struct repo *r = NULL;
	int ch, ex;
	cli_prune_defaults(&o);
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":nh", opts, NULL)) != -1) {
		if (ch == 'h')
			return cli_help_print(&cmd_prune);
		if (ch == 'n') {
			o.dry_run = 1;
			continue;
		}
		ex = cli_prune_opt(&cmd_prune, &o, ch, optarg);
		if (ex == 0)
			return cli_bad_option(&cmd_prune, ch, argv);
		if (ex > 0)
			return ex;
	}
	if (optind < argc)
		return cli_usage(&cmd_prune, "unexpected argument \"%s\"",
				 argv[optind]);
	ex = cli_open(c, &r);
	if (ex != CLI_EXIT_OK)
		return ex;
	ex = cli_prune_run(c, r, &o);
	repo_close(r);
	return ex;
}

const struct cli_command cmd_prune = {
	.name = "prune",
	.summary = "delete data that no snapshot needs",
	.help =
	"usage: cairn prune [options]\n"
	"\n"
	"Deletes what no snapshot needs, in two phases, so that it is safe while\n"
	"other hosts back up into the repository and needs no lock:\n"
	"  1. packs that no snapshot needs, and partly used packs after their\n"
	"     needed blobs are copied into new packs, are recorded for deletion;\n"
	"  2. a later prune, once the grace period has passed, deletes what was\n"
	"     recorded and is still unneeded.\n"
	"A backup that runs meanwhile stores again what it would have shared\n"
	"with recorded packs.  Run prune regularly (after forget): each run does\n"
	"both phases.  Only index, snapshot and tree data are read, and the few\n"
	"packs chosen for repacking.\n"
	"\n"
	"Options:\n"
	CLI_PRUNE_HELP
	"  -n, --dry-run              show what would be done, change nothing\n"
	"\n"
	"With --json, one object {\"message_type\":\"prune\",...} with the counts\n"
	"and sizes shown in text.\n",
	.run = run,
};
