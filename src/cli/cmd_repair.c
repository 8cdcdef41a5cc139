/* cmd_repair.c: cairn repair: heal the stores of a replicated repository
 * from one another. */
#include "cli.h"

#include <getopt.h>
#include <string.h>

enum { OPT_LISTING_ONLY = 256, OPT_DRY_RUN };

static int run(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"listing-only", no_argument, NULL, OPT_LISTING_ONLY},
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct repo *r = NULL;
	int ch, ex, read_data = 1, dry = 0, clean = 0;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_LISTING_ONLY:
			read_data = 0;
			break;
		case OPT_DRY_RUN:
			dry = 1;
			break;
		case 'h':
			return cli_help_print(&cmd_repair);
		default:
			return cli_bad_option(&cmd_repair, ch, argv);
		}
	}
	if (optind < argc)
		return cli_usage(&cmd_repair, "unexpected argument \"%s\"",
				 argv[optind]);
	if (c->nstores < 2)
		return cli_usage(&cmd_repair, "repair needs a repository on "
				 "several stores (-r repeated or "
				 "--repository-file)");
	ex = cli_open(c, &r);
	if (ex != CLI_EXIT_OK)
		return ex;
	ex = cli_replicas_run(c, r, read_data, !dry, &clean);
	if (ex == CLI_EXIT_OK && !clean)
		ex = cli_error(c, CLI_EXIT_FATAL, dry
			       ? "the stores differ"
			       : "some copies could not be repaired");
	else if (ex == CLI_EXIT_OK && !c->quiet && !c->json)
		printf(dry ? "the stores agree\n"
			   : "every store holds a good copy of every object\n");
	repo_close(r);
	return ex;
}

const struct cli_command cmd_repair = {
	.name = "repair",
	.summary = "heal the stores of a replicated repository",
	.help =
	"usage: cairn -r STORE -r STORE... repair [--listing-only] "
	"[--dry-run]\n"
	"\n"
	"Compares the stores of a repository kept on several stores and "
	"copies\n"
	"every object that a store lacks, or holds corrupt, from a store "
	"whose copy\n"
	"passes its hash check.  A corrupt copy is removed before the good "
	"one is\n"
	"written.  Every copy is read and hashed unless --listing-only is "
	"given\n"
	"(then only missing objects are copied, and copies whose sizes "
	"disagree\n"
	"are read).\n"
	"\n"
	"A store that is new or was lost can be given as an empty location: "
	"repair\n"
	"fills it.\n"
	"\n"
	"Findings and repairs are reported per object on stderr; a table "
	"per store\n"
	"follows (with --json, one object with per-store counts on "
	"stdout).  Exit\n"
	"status 0 when every store ends with a good copy of every object.\n"
	"\n"
	"Options:\n"
	"      --listing-only     copy only what listings show missing\n"
	"      --dry-run          report, change nothing (exit 1 when the "
	"stores differ)\n",
	.run = run,
};
