/* cmd_version.c: cairn version: program, format and library versions. */
#include "cli.h"

#include <getopt.h>

#include <sodium.h>
#include <zstd.h>

/* The repository format this build writes (docs/format.md). */

static int run(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (ch == 'h')
			return cli_help_print(&cmd_version);
		return cli_bad_option(&cmd_version, ch, argv);
	}
	if (optind < argc)
		return cli_usage(&cmd_version, "unexpected argument \"%s\"",
				 argv[optind]);
	if (c->json) {
		int rc = jout_print(
			json_pack("{s:s, s:s, s:i, s:{s:s, s:s, s:s}}",
				  "message_type", "version",
				  "version", CAIRN_VERSION,
				  "format", CAIRN_FORMAT_VERSION,
				  "libraries",
				  "zstd", ZSTD_versionString(),
				  "libsodium", sodium_version_string(),
				  "jansson", jansson_version_str()),
			stdout);
		return rc < 0 ? cli_fail(c, rc, "version") : CLI_EXIT_OK;
	}
	printf("cairn %s (format %d)\n", CAIRN_VERSION, CAIRN_FORMAT_VERSION);
	printf("compiled with zstd %s, libsodium %s, jansson %s\n",
	       ZSTD_VERSION_STRING, SODIUM_VERSION_STRING, JANSSON_VERSION);
	if (c->verbose)
		printf("running with zstd %s, libsodium %s, jansson %s\n",
		       ZSTD_versionString(), sodium_version_string(),
		       jansson_version_str());
	return CLI_EXIT_OK;
}

const struct cli_command cmd_version = {
	.name = "version",
	.summary = "print version information",
	.help =
	"usage: cairn version\n"
	"\n"
	"Prints the version of cairn, the repository format it writes and "
	"the\n"
	"versions of the libraries it was compiled with (with -v also those "
	"it runs\n"
	"with).  With --json, one object: version, format, libraries.\n",
	.run = run,
};
