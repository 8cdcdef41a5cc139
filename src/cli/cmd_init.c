/* cmd_init.c: cairn init: create a repository. */
#include "cli.h"

#include <getopt.h>
#include <string.h>

enum { OPT_LEVEL = 256, OPT_PACK_SIZE, OPT_CHUNK_STREAM, OPT_CHUNK_FILES };

/* Parses "MIN,AVG,MAX" (each with parse_size's suffixes) into p and
 * validates it; CAIRN_E_INVAL when malformed or out of range. */
static int parse_chunk_sizes(const char *s, struct chunker_params *p)
{
	uint32_t *const field[3] = {&p->min, &p->avg, &p->max};
	char part[32];
	const char *end;
	uint64_t v;
	size_t len;

	for (int i = 0; i < 3; i++) {
		end = i < 2 ? strchr(s, ',') : s + strlen(s);
		if (!end)
			return CAIRN_E_INVAL;
		len = (size_t)(end - s);
		if (len == 0 || len >= sizeof part)
			return CAIRN_E_INVAL;
		memcpy(part, s, len);
		part[len] = '\0';
		if (parse_size(part, &v) < 0 || v > UINT32_MAX)
			return CAIRN_E_INVAL;
		*field[i] = (uint32_t)v;
		s = end + 1;
	}
	return config_chunker_validate(p);
}

static int run(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"compression-level", required_argument, NULL, OPT_LEVEL},
		{"pack-size", required_argument, NULL, OPT_PACK_SIZE},
		{"chunk-size-stream", required_argument, NULL,
		 OPT_CHUNK_STREAM},
		{"chunk-size-files", required_argument, NULL, OPT_CHUNK_FILES},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct repo_config cfg;
	struct repo *r = NULL;
	char id[65];
	uint64_t size;
	long level;
	int ch, rc, ex;

	config_init_default(&cfg);
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_LEVEL:
			if (parse_int(optarg, 1, 19, &level) < 0)
				return cli_usage(&cmd_init,
						 "--compression-level must be "
						 "1..19, not \"%s\"", optarg);
			cfg.compression_level = (int)level;
			break;
		case OPT_PACK_SIZE:
			if (parse_size(optarg, &size) < 0)
				return cli_usage(&cmd_init,
						 "bad --pack-size \"%s\"",
						 optarg);
			cfg.pack_size = size;
			break;
		case OPT_CHUNK_STREAM:
		case OPT_CHUNK_FILES:
			if (parse_chunk_sizes(optarg, ch == OPT_CHUNK_STREAM ?
						      &cfg.stream :
						      &cfg.files) < 0)
				return cli_usage(&cmd_init,
						 "bad --chunk-size-%s \"%s\": "
						 "need MIN,AVG,MAX with 64 <= "
						 "MIN < AVG < MAX <= 64M and "
						 "AVG a power of two",
						 ch == OPT_CHUNK_STREAM ?
						 "stream" : "files", optarg);
			break;
		case 'h':
			return cli_help_print(&cmd_init);
		default:
			return cli_bad_option(&cmd_init, ch, argv);
		}
	}
	if (optind < argc)
		return cli_usage(&cmd_init, "unexpected argument \"%s\"",
				 argv[optind]);
	if (config_validate(&cfg) < 0)
		return cli_usage(&cmd_init,
				 "pack size must be between 1 MiB and 1 GiB");
	if (!c->repo_url || !*c->repo_url)
		return cli_error(c, CLI_EXIT_FATAL,
				 "no repository given (use -r or "
				 "CAIRN_REPOSITORY)");
	ex = cli_password_read(c, 1);
	if (ex != CLI_EXIT_OK)
		return ex;
	struct repo_location loc;
	cli_location(c, &loc);
	rc = repo_create_at(&loc, &cfg, c->password, c->password_len, &r);
	if (rc < 0)
		return cli_fail(c, rc, "create repository at %s", c->repo_url);
	fmt_id(repo_config_get(r)->id, id);
	if (c->json) {
		rc = jout_print(json_pack("{s:s, s:s, s:s}", "message_type",
					  "initialized", "id", id,
					  "repository", c->repo_url),
				stdout);
		if (rc < 0) {
			repo_close(r);
			return cli_fail(c, rc, "print");
		}
	} else if (!c->quiet) {
		printf("created cairn repository %.10s at %s\n\n"
		       "Please note that knowledge of your password is "
		       "required to access\n"
		       "the repository. Losing your password means that your "
		       "data is\n"
		       "irrecoverably lost.\n", id, c->repo_url);
	}
	repo_close(r);
	return CLI_EXIT_OK;
}

const struct cli_command cmd_init = {
	.name = "init",
	.summary = "create a new repository",
	.help =
	"usage: cairn init [--compression-level N] [--pack-size BYTES]\n"
	"                  [--chunk-size-stream MIN,AVG,MAX]\n"
	"                  [--chunk-size-files MIN,AVG,MAX]\n"
	"\n"
	"Creates a repository at the location given with -r (or "
	"CAIRN_REPOSITORY)\n"
	"and a first key for the password.  When asked on the terminal, the\n"
	"password is asked twice.\n"
	"\n"
	"Options:\n"
	"  --compression-level N  default zstd level, 1..19 (default 3)\n"
	"  --pack-size BYTES      target pack size, 1 MiB .. 1 GiB; suffixes\n"
	"                         K, M, G are powers of 1024 (default 16M)\n"
	"  --chunk-size-stream MIN,AVG,MAX\n"
	"                         chunk sizes for streams (stdin, command "
	"output);\n"
	"                         64 <= MIN < AVG < MAX <= 64M, AVG a power "
	"of two,\n"
	"                         same suffixes (default 16K,64K,256K)\n"
	"  --chunk-size-files MIN,AVG,MAX\n"
	"                         chunk sizes for regular files, same rules "
	"(default\n"
	"                         256K,1M,4M)\n"
	"\n"
	"The chunk sizes are fixed for the repository's life: smaller chunks\n"
	"deduplicate better and cost more index memory and metadata per "
	"byte.\n"
	"\n"
	"With --json, prints {\"message_type\":\"initialized\",\"id\":...,"
	"\"repository\":...}.\n",
	.run = run,
};
