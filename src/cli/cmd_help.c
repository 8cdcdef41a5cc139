/* cmd_help.c: cairn help [COMMAND]. */
#include "cli.h"

static int run(struct cli *c, int argc, char **argv)
{
	const struct cli_command *cmd;

	(void)c;
	if (argc < 2 || argv[1][0] == '-') {
		cli_usage_main(stdout);
		return CLI_EXIT_OK;
	}
	if (argc > 2)
		return cli_usage(&cmd_help, "unexpected argument \"%s\"",
				 argv[2]);
	cmd = cli_command_find(argv[1]);
	if (!cmd)
		return cli_usage(&cmd_help, "unknown command \"%s\"", argv[1]);
	return cli_help_print(cmd);
}

const struct cli_command cmd_help = {
	.name = "help",
	.summary = "show help for cairn or one command",
	.help =
	"usage: cairn help [COMMAND]\n"
	"\n"
	"Shows the general usage, or the options of COMMAND (the same as\n"
	"\"cairn COMMAND --help\").\n",
	.run = run,
};
