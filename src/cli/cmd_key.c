/* cmd_key.c: cairn key list|add|remove|passwd: the key files that unlock
 * the repository, one per password. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_NEW_PW = 256 };

/* The key file's creation time in local time, or as written when it does
 * not parse. */
static void created_local(const char *created, char out[32])
{
	int64_t sec;
	uint32_t nsec;
	int32_t tz;

	if (time_parse_rfc3339(created, &sec, &nsec, &tz) == 0)
		fmt_local_time(sec, out);
	else
		snprintf(out, 32, "%.31s", created);
}

static int list_json(const struct repo_key_info *v, size_t n)
{
	json_t *a = json_array();

	if (!a)
		return CAIRN_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_pack(
			"{s:b, s:s, s:s#, s:o, s:o, s:s}",
			"current", v[i].current, "id", v[i].id, "short_id",
			v[i].id, (int)8,
			"username",
			jout_str(v[i].username, strlen(v[i].username)),
			"hostname",
			jout_str(v[i].hostname, strlen(v[i].hostname)),
			"created", v[i].created);

		if (json_array_append_new(a, o) < 0) {
			json_decref(a);
			return CAIRN_E_NOMEM;
		}
	}
	return jout_print(a, stdout);
}

static void list_text(const struct repo_key_info *v, size_t n)
{
	int uw = 4, hw = 4, width;
	char t[32];

	for (size_t i = 0; i < n; i++) {
		if ((int)strlen(v[i].username) > uw)
			uw = (int)strlen(v[i].username);
		if ((int)strlen(v[i].hostname) > hw)
			hw = (int)strlen(v[i].hostname);
	}
	width = 1 + 8 + 2 + uw + 2 + hw + 2 + 19;
	printf(" %-8s  %-*s  %-*s  %s\n", "ID", uw, "User", hw, "Host",
	       "Created");
	for (int i = 0; i < width; i++)
		putchar('-');
	putchar('\n');
	for (size_t i = 0; i < n; i++) {
		created_local(v[i].created, t);
		printf("%c%-8.8s  %-*s  %-*s  %s\n", v[i].current ? '*' : ' ',
		       v[i].id, uw, v[i].username, hw, v[i].hostname, t);
	}
}

static int key_list(struct cli *c, struct repo *r)
{
	struct repo_key_info *v = NULL;
	size_t n = 0;
	int rc;

	rc = repo_key_list(r, &v, &n);
	if (rc < 0)
		return cli_fail(c, rc, "list keys");
	if (c->json) {
		rc = list_json(v, n);
	} else {
		list_text(v, n);
	}
	free(v);
	return rc < 0 ? cli_fail(c, rc, "print keys") : CLI_EXIT_OK;
}

/* key add and key passwd. */
static int key_new(struct cli *c, struct repo *r, int passwd,
		   const char *file)
{
	char *pw = NULL, id[65];
	size_t len = 0;
	int rc, ex;

	ex = cli_password_new(c, file, &pw, &len);
	if (ex != CLI_EXIT_OK)
		return ex;
	if (passwd)
		rc = repo_key_passwd(r, pw, len, id);
	else
		rc = repo_key_add(r, pw, len, id);
	cli_secret_free(pw);
	if (rc < 0)
		return cli_fail(c, rc, passwd ? "change password"
					      : "add key");
	if (c->json)
		rc = jout_print(json_pack("{s:s, s:s}", "message_type",
					  passwd ? "key_changed" : "key_added",
					  "id", id), stdout);
	else if (!c->quiet)
		printf(passwd ? "saved new password as key %s\n"
			      : "saved new key %s\n", id);
	return rc < 0 ? cli_fail(c, rc, "print") : CLI_EXIT_OK;
}

static int key_remove(struct cli *c, struct repo *r, const char *id)
{
	int rc;

	rc = repo_key_remove(r, id);
	if (rc == CAIRN_E_INVAL)
		return cli_error(c, CLI_EXIT_FATAL,
				 "key remove %s: refusing to remove the key "
				 "in use or the last key", id);
	if (rc < 0)
		return cli_fail(c, rc, "key remove %s", id);
	if (c->json)
		rc = jout_print(json_pack("{s:s, s:s}", "message_type",
					  "key_removed", "id", id), stdout);
	else if (!c->quiet)
		printf("removed key %s\n", id);
	return rc < 0 ? cli_fail(c, rc, "print") : CLI_EXIT_OK;
}

static int run(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"new-password-file", required_argument, NULL, OPT_NEW_PW},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const char *const subs[] = {"list", "add", "remove", "passwd",
					   NULL};
	const char *sub, *file = NULL;
	struct repo *r = NULL;
	int ch, ex, which = -1, want_args;

	if (argc < 2)
		return cli_usage(&cmd_key, "which key command? (list, add, "
				 "remove or passwd)");
	sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 ||
	    strcmp(sub, "help") == 0)
		return cli_help_print(&cmd_key);
	for (int i = 0; subs[i]; i++)
		if (strcmp(sub, subs[i]) == 0)
			which = i;
	if (which < 0)
		return cli_usage(&cmd_key, "unknown key command \"%s\"", sub);
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_NEW_PW:
			if (which != 1 && which != 3)
				return cli_usage(&cmd_key,
						 "--new-password-file is for "
						 "key add and key passwd");
			file = optarg;
			break;
		case 'h':
			return cli_help_print(&cmd_key);
		default:
			return cli_bad_option(&cmd_key, ch, argv);
		}
	}
	want_args = which == 2 ? 1 : 0;
	if (argc - optind < want_args)
		return cli_usage(&cmd_key, "key remove needs a key ID");
	if (argc - optind > want_args)
		return cli_usage(&cmd_key, "unexpected argument \"%s\"",
				 argv[optind + want_args]);
	ex = cli_open(c, &r);
	if (ex != CLI_EXIT_OK)
		return ex;
	switch (which) {
	case 0:
		ex = key_list(c, r);
		break;
	case 1:
	case 3:
		ex = key_new(c, r, which == 3, file);
		break;
	default:
		ex = key_remove(c, r, argv[optind]);
		break;
	}
	repo_close(r);
	return ex;
}

const struct cli_command cmd_key = {
	.name = "key",
	.summary = "manage the passwords (key files) of the repository",
	.help =
	"usage: cairn key list\n"
	"       cairn key add [--new-password-file FILE]\n"
	"       cairn key remove ID\n"
	"       cairn key passwd [--new-password-file FILE]\n"
	"\n"
	"Each key file lets one password open the repository.\n"
	"  list    the key files: short ID ('*' marks the one in use), user, "
	"host and\n"
	"          creation time; with --json an array of objects with "
	"current, id,\n"
	"          short_id, username, hostname, created\n"
	"  add     adds a key file for a new password\n"
	"  remove  removes the key file whose ID starts with ID; the key in "
	"use and\n"
	"          the last key cannot be removed\n"
	"  passwd  replaces the key in use by one for a new password\n"
	"\n"
	"The new password comes from --new-password-file FILE, else "
	"CAIRN_NEW_PASSWORD,\n"
	"else it is asked for twice on the terminal.\n",
	.run = run,
};
