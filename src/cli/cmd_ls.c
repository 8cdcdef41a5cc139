/* cmd_ls.c: cairn ls: list the files and directories of a snapshot. */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct ls_ctx {
	const struct cli *c;
	int long_fmt;
	char **only;          /* PATH arguments without surrounding '/' */
	size_t nonly;
	int rc;               /* first output error */
};

static const char *type_name(uint8_t t)
{
	switch (t) {
	case NODE_FILE: return "file";
	case NODE_DIR: return "dir";
	case NODE_SYMLINK: return "symlink";
	case NODE_FIFO: return "fifo";
	case NODE_CHARDEV: return "chardev";
	case NODE_BLOCKDEV: return "blockdev";
	case NODE_SOCKET: return "socket";
	default: return "unknown";
	}
}

static void mode_string(const struct tree_node *n, char out[11])
{
	static const char types[] = "?-dlpcbs";
	static const char rwx[] = "rwxrwxrwx";
	uint32_t m = n->mode;

	out[0] = n->type < sizeof types - 1 ? types[n->type] : '?';
	for (int i = 0; i < 9; i++)
		out[1 + i] = (m & (0400u >> i)) ? rwx[i] : '-';
	if (m & 04000)
		out[3] = (m & 0100) ? 's' : 'S';
	if (m & 02000)
		out[6] = (m & 0010) ? 's' : 'S';
	if (m & 01000)
		out[9] = (m & 0001) ? 't' : 'T';
	out[10] = '\0';
}

/* 1 when path is one of the PATH arguments or below one. */
static int wanted(const struct ls_ctx *x, const char *path)
{
	if (!x->nonly)
		return 1;
	for (size_t i = 0; i < x->nonly; i++) {
		size_t n = strlen(x->only[i]);

		if (n == 0 || (strncmp(path, x->only[i], n) == 0 &&
			       (path[n] == '\0' || path[n] == '/')))
			return 1;
	}
	return 0;
}

static json_t *node_json(const char *path, const struct tree_node *n)
{
	size_t plen = strlen(path);
	char *full = malloc(plen + 2);
	json_t *o = json_object();
	int bad = !full;

	if (full) {
		full[0] = '/';
		memcpy(full + 1, path, plen + 1);
	}
#define PUT(k, v)                                                              \
	do {                                                                   \
		if (json_object_set_new(o, k, v) < 0)                          \
			bad = 1;                                               \
	} while (0)
	PUT("message_type", json_string("node"));
	PUT("name", jout_str(n->name, n->name_len));
	PUT("type", json_string(type_name(n->type)));
	PUT("path", full ? jout_str(full, plen + 1) : NULL);
	PUT("uid", json_integer(n->uid));
	PUT("gid", json_integer(n->gid));
	PUT("user", jout_str(n->user ? n->user : "",
			     n->user ? strlen(n->user) : 0));
	PUT("group", jout_str(n->group ? n->group : "",
			      n->group ? strlen(n->group) : 0));
	PUT("size", jout_u64(n->size));
	PUT("mode", json_integer(n->mode));
	PUT("mtime", jout_time(n->mtime_sec, n->mtime_nsec,
			       time_local_offset(n->mtime_sec)));
	PUT("ctime", jout_time(n->ctime_sec, n->ctime_nsec,
			       time_local_offset(n->ctime_sec)));
	PUT("inode", jout_u64(n->inode));
	PUT("links", jout_u64(n->links));
	if (n->type == NODE_SYMLINK)
		PUT("link_target", jout_str(n->link_target, n->link_len));
	if (n->type == NODE_CHARDEV || n->type == NODE_BLOCKDEV)
		PUT("rdev", jout_u64(n->rdev));
#undef PUT
	free(full);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int on_node(void *ud, const char *path, const struct tree_node *n)
{
	struct ls_ctx *x = ud;
	char mode[11], t[32];

	if (cli_interrupted)
		return CAIRN_E_INTERRUPTED;
	if (!wanted(x, path))
		return 0;
	if (x->c->json) {
		x->rc = jout_print(node_json(path, n), stdout);
	} else if (x->long_fmt) {
		mode_string(n, mode);
		fmt_local_time(n->mtime_sec, t);
		printf("%s %8s %8s %12" PRIu64 " %s /%s", mode,
		       n->user && *n->user ? n->user : "-",
		       n->group && *n->group ? n->group : "-", n->size, t,
		       path);
		if (n->type == NODE_SYMLINK)
			printf(" -> %s", n->link_target);
		putchar('\n');
	} else {
		printf("/%s\n", path);
	}
	if (ferror(stdout))
		x->rc = CAIRN_E_IO;
	return x->rc;
}

static int print_header(const struct cli *c, const struct snapshot *s)
{
	char id[9], t[32], *paths;
	json_t *o, *snap;

	if (c->json) {
		snap = jout_snapshot(s);
		o = json_pack("{s:s}", "message_type", "snapshot");
		if (!o || !snap || json_object_update(o, snap) < 0) {
			json_decref(o);
			json_decref(snap);
			return CAIRN_E_NOMEM;
		}
		json_decref(snap);
		return jout_print(o, stdout);
	}
	if (c->quiet)
		return 0;
	paths = fmt_paths(s);
	if (!paths)
		return CAIRN_E_NOMEM;
	fmt_short_id(s->id, id);
	fmt_local_time(s->time_sec, t);
	printf("snapshot %s of [%s] at %s\n", id, paths, t);
	free(paths);
	return 0;
}

static int run(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_FILTER_OPTIONS,
		{"long", no_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_filter f = CLI_FILTER_INIT;
	struct strv only = STRV_INIT;
	struct snapshot snap;
	struct ls_ctx x;
	struct repo *r = NULL;
	int ch, rc, ex, have_snap = 0;

	memset(&x, 0, sizeof x);
	x.c = c;
	while ((ch = getopt_long(argc, argv, ":hlH:", opts, NULL)) != -1) {
		if (ch == 'H')
			ch = CLI_OPT_HOST;
		rc = cli_filter_opt(&f, ch, optarg);
		if (rc < 0) {
			ex = cli_fail(c, rc, "ls");
			goto out;
		}
		if (rc > 0)
			continue;
		if (ch == 'l') {
			x.long_fmt = 1;
			continue;
		}
		ex = ch == 'h' ? cli_help_print(&cmd_ls)
			       : cli_bad_option(&cmd_ls, ch, argv);
		goto out;
	}
	if (optind >= argc) {
		ex = cli_usage(&cmd_ls, "which snapshot? (an ID or \"latest\")");
		goto out;
	}
	for (int i = optind + 1; i < argc; i++) {
		const char *p = argv[i];
		size_t n;

		while (*p == '/')
			p++;
		if (strv_push(&only, p) < 0) {
			ex = cli_fail(c, CAIRN_E_NOMEM, "ls");
			goto out;
		}
		n = strlen(only.v[only.n - 1]);
		while (n > 0 && only.v[only.n - 1][n - 1] == '/')
			only.v[only.n - 1][--n] = '\0';
	}
	x.only = only.v;
	x.nonly = only.n;
	ex = cli_open(c, &r);
	if (ex != CLI_EXIT_OK)
		goto out;
	ex = cli_snapshot_find(c, r, argv[optind], cli_filter_get(&f), &snap);
	if (ex != CLI_EXIT_OK)
		goto out;
	have_snap = 1;
	rc = print_header(c, &snap);
	if (rc >= 0)
		rc = repo_walk(r, &snap, on_node, &x);
	if (rc < 0)
		ex = cli_fail(c, rc, "ls %s", argv[optind]);
out:
	if (have_snap)
		snapshot_free(&snap);
	if (r)
		repo_close(r);
	strv_free(&only);
	cli_filter_free(&f);
	return ex;
}

const struct cli_command cmd_ls = {
	.name = "ls",
	.summary = "list the files in a snapshot",
	.help =
	"usage: cairn ls [options] SNAPSHOT [PATH...]\n"
	"\n"
	"Lists every file and directory of SNAPSHOT (an ID, a unique ID "
	"prefix, or\n"
	"\"latest\"), one absolute path a line after a header line; with "
	"PATH, only\n"
	"those paths and what is below them.\n"
	"\n"
	"With --json, JSON lines: first the snapshot "
	"({\"message_type\":\"snapshot\",...}),\n"
	"then one {\"message_type\":\"node\"} per entry with name, type "
	"(file, dir,\n"
	"symlink, fifo, chardev, blockdev, socket), path, uid, gid, user, "
	"group,\n"
	"size, mode, mtime, ctime, inode, links and, for symlinks, "
	"link_target.\n"
	"\n"
	"Options:\n"
	"  -l, --long             show mode, owner, size and time\n"
	"  -H, --host HOST        with \"latest\": the newest snapshot of HOST\n"
	"      --tag TAG[,TAG]    with \"latest\": ... having every TAG\n"
	"      --path PATH        with \"latest\": ... including PATH\n",
	.run = run,
};
