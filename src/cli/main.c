/* main.c: the cairn command line: global options, the command table,
 * passwords, signals, and the mapping of engine results to exit codes.
 *
 * Global options may stand before or after the command name; they are
 * taken out of argv (up to a "--") before the command parses the rest with
 * getopt_long.  Passwords never come from argv: --password-file,
 * CAIRN_PASSWORD_FILE, CAIRN_PASSWORD, or a prompt on /dev/tty.  They live
 * in sodium_malloc'd memory (guarded, locked, wiped on free).
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

volatile sig_atomic_t cli_interrupted;

static const struct cli_command *const commands[] = {
	&cmd_init, &cmd_backup, &cmd_snapshots, &cmd_forget, &cmd_ls,
	&cmd_restore, &cmd_dump, &cmd_check, &cmd_stats, &cmd_prune,
	&cmd_repair, &cmd_key,
	&cmd_version, &cmd_help, NULL,
};

/* ======================= Errors and exit codes ========================= */

int cli_exit_code(int rc)
{
	switch (rc) {
	case CAIRN_OK: return CLI_EXIT_OK;
	case CAIRN_E_PARTIAL: return CLI_EXIT_PARTIAL;
	case CAIRN_E_NOREPO: return CLI_EXIT_NOREPO;
	case CAIRN_E_LOCKED: return CLI_EXIT_LOCKED;
	case CAIRN_E_PASSWORD: return CLI_EXIT_PASSWORD;
	case CAIRN_E_INTERRUPTED: return CLI_EXIT_INTERRUPTED;
	default: return CLI_EXIT_FATAL;
	}
}

static void error_emit(const struct cli *c, int exit_code, const char *msg)
{
	json_t *j;

	if (c && c->json) {
		j = json_pack("{s:s, s:i, s:o}", "message_type", "exit_error",
			      "code", exit_code, "message",
			      jout_str(msg, strlen(msg)));
		if (j) {
			fflush(stdout);
			(void)jout_print(j, stderr);
			return;
		}
	}
	fflush(stdout);
	fprintf(stderr, "cairn: %s\n", msg);
}

int cli_error(const struct cli *c, int exit_code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	error_emit(c, exit_code, msg);
	return exit_code;
}

int cli_fail(const struct cli *c, int rc, const char *fmt, ...)
{
	char what[900], msg[1024];
	va_list ap;
	int ex = cli_exit_code(rc);

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof msg, "%s: %s", what, cairn_strerror(rc));
	if (ex == CLI_EXIT_OK || ex == CLI_EXIT_PARTIAL)
		ex = CLI_EXIT_FATAL;
	error_emit(c, ex, msg);
	return ex;
}

int cli_usage(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "cairn%s%s: ", cmd ? " " : "", cmd ? cmd->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nrun \"cairn help%s%s\" for usage\n", cmd ? " " : "",
		cmd ? cmd->name : "");
	return CLI_EXIT_FATAL;
}

int cli_bad_option(const struct cli_command *cmd, int ch, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	const char *eq = strchr(arg, '=');

	if (ch == ':')
		return cli_usage(cmd, "option %s needs an argument", arg);
	if (optopt != 0 && strncmp(arg, "--", 2) == 0 && eq)
		return cli_usage(cmd, "option %.*s takes no argument",
				 (int)(eq - arg), arg);
	if (optopt > 0 && optopt < 128 && optopt != '?' &&
	    strncmp(arg, "--", 2) != 0)
		return cli_usage(cmd, "unknown option -%c", optopt);
	return cli_usage(cmd, "unknown option %s", arg);
}

int cli_help_print(const struct cli_command *cmd)
{
	fputs(cmd->help, stdout);
	return CLI_EXIT_OK;
}

const struct cli_command *cli_command_find(const char *name)
{
	for (size_t i = 0; commands[i]; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

void cli_usage_main(FILE *f)
{
	fputs("usage: cairn [global options] COMMAND [options] [arguments]\n"
	      "\n"
	      "cairn keeps deduplicated, compressed and encrypted backups in a "
	      "repository.\n"
	      "\n"
	      "Commands:\n", f);
	for (size_t i = 0; commands[i]; i++)
		fprintf(f, "  %-10s %s\n", commands[i]->name,
			commands[i]->summary);
	fputs("\n"
	      "Global options (before or after COMMAND, but before \"--\"):\n"
	      "  -r, --repo URL           repository location "
	      "(default: $CAIRN_REPOSITORY);\n"
	      "                           repeat it to keep the repository "
	      "on several stores\n"
	      "      --repository-file F  the stores, one per line (and "
	      "\"quorum N\",\n"
	      "                           \"option key=value\" lines)\n"
	      "      --quorum N           writes succeed once N stores "
	      "hold them (default all)\n"
	      "  -o, --option KEY=VALUE   a store option (see \"Stores\" "
	      "below)\n"
	      "      --region R           same as -o s3.region=R\n"
	      "      --object-lock-days N same as -o s3.object-lock-days=N\n"
	      "      --object-lock-mode M same as -o s3.object-lock-mode=M "
	      "(governance,\n"
	      "                           compliance)\n"
	      "      --cacert FILE        same as -o tls.ca-file=FILE\n"
	      "      --password-file FILE read the password from FILE "
	      "(one trailing\n"
	      "                           newline is removed)\n"
	      "      --json               machine-readable output on stdout\n"
	      "  -q, --quiet              print nothing but errors\n"
	      "  -v, --verbose            more output (repeat for more)\n"
	      "  -h, --help               show help (also after any command)\n"
	      "\n"
	      "Environment:\n"
	      "  CAIRN_REPOSITORY     repository location, when -r is not given\n"
	      "  CAIRN_REPOSITORY_FILE  repository file, when neither -r nor\n"
	      "                       --repository-file is given\n"
	      "  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,\n"
	      "  AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE, AWS_REGION\n"
	      "                       S3 credentials and region\n"
	      "  CAIRN_PASSWORD_FILE  file holding the password\n"
	      "  CAIRN_PASSWORD       the password itself\n"
	      "  CAIRN_NEW_PASSWORD   the new password for key add / key passwd\n"
	      "  CAIRN_CACHE_DIR      directory for a local cache (reserved; no "
	      "cache is kept yet)\n"
	      "\n"
	      "The password is taken from --password-file, else "
	      "CAIRN_PASSWORD_FILE, else\n"
	      "CAIRN_PASSWORD, else asked for on the terminal when standard "
	      "input is one.\n"
	      "It is never accepted on the command line.\n"
	      "\n"
	      "Output: with --json, stdout carries only JSON (one document, or "
	      "JSON lines\n"
	      "for backup, restore, ls and check --replicas); a fatal error is "
	      "then\nreported on stderr as "
	      "one line {\"message_type\":\"exit_error\",\"code\":N,"
	      "\"message\":\"...\"}.\n"
	      "Without --json, errors go to stderr as \"cairn: <what>: "
	      "<reason>\".\n"
	      "\n"
	      "Stores:\n"
	      "  /path, local:/path            a local directory\n"
	      "  s3:https://host[:port]/bucket[/prefix]\n"
	      "                                S3 and S3-compatible stores "
	      "(B2, MinIO)\n"
	      "  ipfs:http://host:port[/mfs-dir]  an IPFS node's RPC API\n"
	      "  Options: retry.max-time, timeout.connect, timeout.stall,\n"
	      "  timeout.min-speed, connections, tls.ca-file, s3.region,\n"
	      "  s3.bucket-lookup (path, dns), s3.conditional-put (on, off),\n"
	      "  s3.object-lock-days, s3.object-lock-mode, s3.storage-class,\n"
	      "  ipfs.timeout (docs/operations.md).\n"
	      "\n"
	      "Exit status:\n"
	      "  0    success\n"
	      "  1    error (including usage errors)\n"
	      "  3    backup saved, but some files could not be read\n"
	      "  10   the repository does not exist\n"
	      "  11   the repository is locked\n"
	      "  12   wrong password\n"
	      "  130  interrupted (SIGINT, SIGTERM or SIGHUP)\n"
	      "\n"
	      "Run \"cairn help COMMAND\" for the options of a command.\n", f);
}

/* ============================== Signals ================================ */

static void on_signal(int sig)
{
	static const char msg[] = "\ncairn: interrupted again, exiting now\n";

	(void)sig;
	if (cli_interrupted) {
		if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
			/* nothing to do: we are leaving */
		}
		_exit(CLI_EXIT_INTERRUPTED);
	}
	cli_interrupted = 1;
}

/* restart 0 lets a blocking read (the password prompt) fail with EINTR;
 * during engine work, calls are restarted and the engine polls the flag. */
static void signals_install(int restart)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = restart ? SA_RESTART : 0;
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
}

/* ============================= Passwords =============================== */

void cli_secret_free(char *p)
{
	if (p)
		sodium_free(p);
}

static int secret_alloc(char **ret)
{
	char *p = sodium_malloc(CLI_PASSWORD_MAX + 1);

	if (!p)
		return CAIRN_E_NOMEM;
	p[0] = '\0';
	*ret = p;
	return 0;
}

/* Reads at most CLI_PASSWORD_MAX bytes of path into buf (capacity
 * CLI_PASSWORD_MAX + 1), minus one trailing "\n" or "\r\n".  Returns an
 * exit code. */
static int secret_from_file(const struct cli *c, const char *path, char *buf,
			    size_t *ret_len)
{
	size_t len = 0;
	ssize_t n;
	int fd, ex = CLI_EXIT_OK;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cli_error(c, CLI_EXIT_FATAL,
				 "cannot open password file %s: %s", path,
				 strerror(errno));
	for (;;) {
		n = read(fd, buf + len, CLI_PASSWORD_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ex = cli_error(c, CLI_EXIT_FATAL,
				       "cannot read password file %s: %s",
				       path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CLI_PASSWORD_MAX) {
			ex = cli_error(c, CLI_EXIT_FATAL,
				       "password file %s is longer than %d "
				       "bytes", path, CLI_PASSWORD_MAX);
			goto out;
		}
	}
	if (len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	buf[len] = '\0';
	*ret_len = len;
out:
	close(fd);
	if (ex != CLI_EXIT_OK)
		sodium_memzero(buf, CLI_PASSWORD_MAX + 1);
	return ex;
}

static int secret_from_env(const struct cli *c, const char *var, char *buf,
			   size_t *ret_len)
{
	const char *v = getenv(var);
	size_t len = strlen(v);

	if (len > CLI_PASSWORD_MAX)
		return cli_error(c, CLI_EXIT_FATAL,
				 "%s is longer than %d bytes", var,
				 CLI_PASSWORD_MAX);
	memcpy(buf, v, len + 1);
	*ret_len = len;
	return CLI_EXIT_OK;
}

/* Asks on /dev/tty with echo off.  Returns an exit code. */
static int secret_prompt(const struct cli *c, const char *prompt, char *buf,
			 size_t *ret_len)
{
	struct termios old, quiet;
	size_t len = 0;
	int fd, have_old = 0, too_long = 0, ex = CLI_EXIT_OK;
	char ch;
	ssize_t n;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return cli_error(c, CLI_EXIT_FATAL,
				 "cannot open the terminal to ask for the "
				 "password: %s", strerror(errno));
	if (tcgetattr(fd, &old) == 0) {
		have_old = 1;
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	signals_install(0);
	if (write(fd, prompt, strlen(prompt)) < 0) {
		ex = cli_error(c, CLI_EXIT_FATAL, "cannot write to terminal: %s",
			       strerror(errno));
		goto out;
	}
	for (;;) {
		n = read(fd, &ch, 1);
		if (n < 0 && errno == EINTR && !cli_interrupted)
			continue;
		if (n < 0 && errno == EINTR) {
			if (write(fd, "\n", 1) < 0) {
				/* the error below says enough */
			}
			ex = cli_fail(c, CAIRN_E_INTERRUPTED,
				      "reading the password");
			goto out;
		}
		if (n < 0) {
			ex = cli_error(c, CLI_EXIT_FATAL,
				       "cannot read from terminal: %s",
				       strerror(errno));
			goto out;
		}
		if (n == 0 || ch == '\n')
			break;
		if (len < CLI_PASSWORD_MAX)
			buf[len++] = ch;
		else
			too_long = 1;
	}
	buf[len] = '\0';
	if (too_long) {
		ex = cli_error(c, CLI_EXIT_FATAL,
			       "password is longer than %d bytes",
			       CLI_PASSWORD_MAX);
		goto out;
	}
	*ret_len = len;
out:
	if (have_old)
		tcsetattr(fd, TCSAFLUSH, &old);
	signals_install(1);
	close(fd);
	sodium_memzero(&ch, sizeof ch);
	if (ex != CLI_EXIT_OK)
		sodium_memzero(buf, CLI_PASSWORD_MAX + 1);
	if (ex == CLI_EXIT_OK && cli_interrupted)
		ex = cli_fail(c, CAIRN_E_INTERRUPTED, "reading the password");
	return ex;
}

/* Two prompts that must agree; the result goes to buf. */
static int secret_prompt_twice(const struct cli *c, const char *prompt,
			       char *buf, size_t *ret_len)
{
	char *again = NULL;
	size_t len = 0, len2 = 0;
	int rc, ex;

	rc = secret_alloc(&again);
	if (rc < 0)
		return cli_fail(c, rc, "password");
	ex = secret_prompt(c, prompt, buf, &len);
	if (ex != CLI_EXIT_OK)
		goto out;
	ex = secret_prompt(c, "enter password again: ", again, &len2);
	if (ex != CLI_EXIT_OK)
		goto out;
	if (len != len2 || sodium_memcmp(buf, again, len) != 0) {
		ex = cli_error(c, CLI_EXIT_FATAL, "passwords do not match");
		goto out;
	}
	*ret_len = len;
out:
	cli_secret_free(again);
	return ex;
}

static int env_set(const char *var)
{
	const char *v = getenv(var);

	return v && *v;
}

int cli_password_read(struct cli *c, int confirm)
{
	const char *file = c->password_file;
	char *pw = NULL;
	size_t len = 0;
	int rc, ex;

	if (c->password)
		return CLI_EXIT_OK;
	rc = secret_alloc(&pw);
	if (rc < 0)
		return cli_fail(c, rc, "password");
	if (!file && env_set("CAIRN_PASSWORD_FILE"))
		file = getenv("CAIRN_PASSWORD_FILE");
	if (file)
		ex = secret_from_file(c, file, pw, &len);
	else if (getenv("CAIRN_PASSWORD"))
		ex = secret_from_env(c, "CAIRN_PASSWORD", pw, &len);
	else if (isatty(STDIN_FILENO) && confirm)
		ex = secret_prompt_twice(c,
					 "enter password for new repository: ",
					 pw, &len);
	else if (isatty(STDIN_FILENO))
		ex = secret_prompt(c, "enter password for repository: ", pw,
				   &len);
	else
		ex = cli_error(c, CLI_EXIT_FATAL,
			       "no password given (use --password-file, "
			       "CAIRN_PASSWORD_FILE or CAIRN_PASSWORD)");
	if (ex == CLI_EXIT_OK && confirm && len == 0)
		ex = cli_error(c, CLI_EXIT_FATAL,
			       "an empty password is not allowed");
	if (ex != CLI_EXIT_OK) {
		cli_secret_free(pw);
		return ex;
	}
	c->password = pw;
	c->password_len = len;
	return CLI_EXIT_OK;
}

int cli_password_new(const struct cli *c, const char *file, char **ret,
		     size_t *ret_len)
{
	char *pw = NULL;
	size_t len = 0;
	int rc, ex;

	rc = secret_alloc(&pw);
	if (rc < 0)
		return cli_fail(c, rc, "password");
	if (file)
		ex = secret_from_file(c, file, pw, &len);
	else if (getenv("CAIRN_NEW_PASSWORD"))
		ex = secret_from_env(c, "CAIRN_NEW_PASSWORD", pw, &len);
	else if (isatty(STDIN_FILENO))
		ex = secret_prompt_twice(c, "enter new password: ", pw, &len);
	else
		ex = cli_error(c, CLI_EXIT_FATAL,
			       "no new password given (use "
			       "--new-password-file or CAIRN_NEW_PASSWORD)");
	if (ex == CLI_EXIT_OK && len == 0)
		ex = cli_error(c, CLI_EXIT_FATAL,
			       "an empty password is not allowed");
	if (ex != CLI_EXIT_OK) {
		cli_secret_free(pw);
		return ex;
	}
	*ret = pw;
	*ret_len = len;
	return CLI_EXIT_OK;
}

/* ============================ Repository =============================== */

int cli_open(struct cli *c, struct repo **ret)
{
	struct repo *r = NULL;
	int rc, ex;

	if (!c->repo_url || !*c->repo_url)
		return cli_error(c, CLI_EXIT_FATAL,
				 "no repository given (use -r or "
				 "CAIRN_REPOSITORY)");
	ex = cli_password_read(c, 0);
	if (ex != CLI_EXIT_OK)
		return ex;
	struct repo_location loc;
	cli_location(c, &loc);
	rc = repo_open_at(&loc, c->password, c->password_len, &r);
	if (rc < 0 && c->nstores > 1)
		return cli_fail(c, rc, "open repository on %zu stores (%s, ...)",
				c->nstores, c->repo_url);
	if (rc < 0)
		return cli_fail(c, rc, "open repository %s", c->repo_url);
	*ret = r;
	return CLI_EXIT_OK;
}

int cli_snapshot_find(const struct cli *c, struct repo *r, const char *spec,
		      const struct snapshot_filter *filter,
		      struct snapshot *ret)
{
	int rc;

	rc = repo_snapshot_find(r, spec,
				strcmp(spec, "latest") == 0 ? filter : NULL,
				ret);
	if (rc == CAIRN_E_NOTFOUND && strcmp(spec, "latest") == 0)
		return cli_error(c, CLI_EXIT_FATAL, "no snapshot found%s",
				 filter && (filter->host || filter->tags ||
					    filter->paths)
					 ? " matching the filters"
					 : "");
	if (rc < 0)
		return cli_fail(c, rc, "snapshot %s", spec);
	return CLI_EXIT_OK;
}

/* ========================== Global options ============================= */

void cli_location(const struct cli *c, struct repo_location *ret)
{
	memset(ret, 0, sizeof *ret);
	ret->urls = c->stores;
	ret->n = c->nstores;
	ret->quorum = c->quorum;
	ret->options = c->options;
	ret->noptions = c->noptions;
}

static int store_add(struct cli *c, const char *url)
{
	if (c->nstores == CLI_STORES_MAX)
		return cli_usage(NULL, "at most %d stores", CLI_STORES_MAX);
	c->stores[c->nstores++] = url;
	c->repo_url = c->stores[0];
	return CLI_EXIT_OK;
}

static int option_add(struct cli *c, const char *kv)
{
	if (!strchr(kv, '='))
		return cli_usage(NULL, "option \"%s\" is not key=value", kv);
	if (c->noptions == CLI_OPTIONS_MAX)
		return cli_usage(NULL, "at most %d options", CLI_OPTIONS_MAX);
	c->options[c->noptions++] = kv;
	return CLI_EXIT_OK;
}

/* A flag that stands for "-o key=value": the string is kept in
 * c->option_text (a chain of NUL-terminated strings). */
static int option_flag(struct cli *c, const char *key, const char *val)
{
	const size_t cap = 4096;
	size_t n = strlen(key) + strlen(val) + 2;
	if (!c->option_text) {
		c->option_text = malloc(cap);
		if (!c->option_text)
			return cli_fail(c, CAIRN_E_NOMEM, "options");
	}
	if (c->option_used + n > cap)
		return cli_usage(NULL, "options too long");
	char *p = c->option_text + c->option_used;
	snprintf(p, n, "%s=%s", key, val);
	c->option_used += n;
	return option_add(c, p);
}

/* --repository-file: one store per line ("#" comments), plus
 * "quorum N" and "option key=value" lines. */
static int repo_file_read(struct cli *c, const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return cli_error(c, CLI_EXIT_FATAL,
				 "cannot open repository file %s: %s", path,
				 strerror(errno));
	size_t cap = 0;
	ssize_t len = getdelim(&c->repo_file_text, &cap, '\0', f);
	fclose(f);
	if (len < 0)
		return cli_error(c, CLI_EXIT_FATAL,
				 "cannot read repository file %s", path);
	int ex = CLI_EXIT_OK;
	char *save = NULL;
	for (char *l = strtok_r(c->repo_file_text, "\n", &save);
	     l && ex == CLI_EXIT_OK; l = strtok_r(NULL, "\n", &save)) {
		while (*l == ' ' || *l == '\t')
			l++;
		size_t n = strlen(l);
		while (n && (l[n - 1] == ' ' || l[n - 1] == '\t' ||
			     l[n - 1] == '\r'))
			l[--n] = 0;
		if (!*l || *l == '#')
			continue;
		if (!strncmp(l, "quorum ", 7)) {
			char *end;
			unsigned long q = strtoul(l + 7, &end, 10);
			if (*end || q > CLI_STORES_MAX)
				ex = cli_usage(NULL, "%s: bad quorum \"%s\"",
					       path, l + 7);
			c->quorum = (unsigned)q;
		} else if (!strncmp(l, "option ", 7)) {
			ex = option_add(c, l + 7);
		} else {
			ex = store_add(c, l);
		}
	}
	return ex;
}

/* Value of option name (long "--name" or short "-x") at argv[*i]: either
 * attached ("--name=V", "-xV") or the next argument.  NULL when a is not
 * that option; *bad set when the value is missing. */
static const char *opt_value(char **argv, int argc, int *i, const char *lng,
			     char shrt, int *bad)
{
	const char *a = argv[*i];
	size_t ln = strlen(lng);

	if (strncmp(a, lng, ln) == 0 && a[ln] == '=')
		return a + ln + 1;
	if (strcmp(a, lng) == 0 ||
	    (shrt && a[0] == '-' && a[1] == shrt && a[2] == '\0')) {
		if (*i + 1 >= argc) {
			*bad = 1;
			return NULL;
		}
		return argv[++*i];
	}
	if (shrt && a[0] == '-' && a[1] == shrt && a[2] != '\0')
		return a + 2;
	return NULL;
}

/* A group of -q/-v flags ("-q", "-vv", "-qv"). */
static int is_flag_group(const char *a)
{
	if (a[0] != '-' || a[1] == '-' || a[1] == '\0')
		return 0;
	for (a++; *a; a++)
		if (*a != 'q' && *a != 'v')
			return 0;
	return 1;
}

/* Moves the global options out of argv; the rest (command first) goes to
 * rest.  Returns an exit code. */
static int globals_take(struct cli *c, int argc, char **argv, char **rest,
			int *nrest)
{
	const char *v;
	int n = 0, bad = 0, dashdash = 0, ex;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (dashdash || a[0] != '-') {
			rest[n++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = 1;
			rest[n++] = argv[i];
			continue;
		}
		if ((v = opt_value(argv, argc, &i, "--repo", 'r', &bad))) {
			if ((ex = store_add(c, v)) != CLI_EXIT_OK)
				return ex;
			continue;
		}
		if (!bad && (v = opt_value(argv, argc, &i,
					   "--repository-file", 0, &bad))) {
			if ((ex = repo_file_read(c, v)) != CLI_EXIT_OK)
				return ex;
			continue;
		}
		if (!bad && (v = opt_value(argv, argc, &i, "--option", 'o',
					   &bad))) {
			if ((ex = option_add(c, v)) != CLI_EXIT_OK)
				return ex;
			continue;
		}
		if (!bad && (v = opt_value(argv, argc, &i, "--quorum", 0,
					   &bad))) {
			char *end;
			unsigned long q = strtoul(v, &end, 10);
			if (*end || !*v || q > CLI_STORES_MAX)
				return cli_usage(NULL, "bad --quorum \"%s\"",
						 v);
			c->quorum = (unsigned)q;
			continue;
		}
		static const char *const flag_keys[][2] = {
			{"--object-lock-days", "s3.object-lock-days"},
			{"--object-lock-mode", "s3.object-lock-mode"},
			{"--cacert", "tls.ca-file"},
			{"--region", "s3.region"},
		};
		int taken = 0;
		for (size_t k = 0; !bad && !taken &&
				   k < sizeof flag_keys / sizeof *flag_keys; k++) {
			if ((v = opt_value(argv, argc, &i, flag_keys[k][0], 0,
					   &bad))) {
				ex = option_flag(c, flag_keys[k][1], v);
				if (ex != CLI_EXIT_OK)
					return ex;
				taken = 1;
			}
		}
		if (taken)
			continue;
		if (!bad && (v = opt_value(argv, argc, &i, "--password-file",
					   0, &bad))) {
			c->password_file = v;
			continue;
		}
		if (bad)
			return cli_usage(NULL, "option %s needs an argument",
					 a);
		if (strcmp(a, "--json") == 0) {
			c->json = 1;
		} else if (strcmp(a, "--quiet") == 0) {
			c->quiet = 1;
		} else if (strcmp(a, "--verbose") == 0) {
			c->verbose++;
		} else if (is_flag_group(a)) {
			for (a++; *a; a++) {
				if (*a == 'q')
					c->quiet = 1;
				else
					c->verbose++;
			}
		} else {
			rest[n++] = argv[i];
		}
	}
	rest[n] = NULL;
	*nrest = n;
	return CLI_EXIT_OK;
}

/* ================================ main ================================= */

/* Restore holds one directory descriptor per level of nesting; take the
 * hard limit so that deep trees are not cut at the usual 1024. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct cli c;
	const struct cli_command *cmd;
	char **rest = NULL;
	int nrest = 0, ex;

	memset(&c, 0, sizeof c);
	if (sodium_init() < 0) {
		fprintf(stderr, "cairn: %s\n", cairn_strerror(CAIRN_E_CRYPTO));
		return CLI_EXIT_FATAL;
	}
	tzset();
	raise_fd_limit();
	rest = calloc((size_t)argc + 1, sizeof *rest);
	if (!rest) {
		fprintf(stderr, "cairn: %s\n", cairn_strerror(CAIRN_E_NOMEM));
		return CLI_EXIT_FATAL;
	}
	ex = globals_take(&c, argc, argv, rest, &nrest);
	if (ex != CLI_EXIT_OK)
		goto out;
	if (!c.nstores && getenv("CAIRN_REPOSITORY_FILE") &&
	    *getenv("CAIRN_REPOSITORY_FILE")) {
		ex = repo_file_read(&c, getenv("CAIRN_REPOSITORY_FILE"));
		if (ex != CLI_EXIT_OK)
			goto out;
	}
	if (!c.nstores && getenv("CAIRN_REPOSITORY") &&
	    *getenv("CAIRN_REPOSITORY"))
		store_add(&c, getenv("CAIRN_REPOSITORY"));
	if (c.quorum > c.nstores && c.nstores) {
		ex = cli_usage(NULL, "--quorum %u is more than the %zu stores",
			       c.quorum, c.nstores);
		goto out;
	}
	if (nrest == 0) {
		cli_usage_main(stderr);
		ex = CLI_EXIT_FATAL;
		goto out;
	}
	if (strcmp(rest[0], "--help") == 0 || strcmp(rest[0], "-h") == 0) {
		cli_usage_main(stdout);
		goto out;
	}
	if (strcmp(rest[0], "--version") == 0) {
		cmd = &cmd_version;
	} else if (rest[0][0] == '-') {
		ex = cli_usage(NULL, "unknown option %s", rest[0]);
		goto out;
	} else {
		cmd = cli_command_find(rest[0]);
	}
	if (!cmd) {
		ex = cli_usage(NULL, "unknown command \"%s\"", rest[0]);
		goto out;
	}
	signals_install(1);
	optind = 0;	/* fresh getopt state for the command */
	opterr = 0;
	ex = cmd->run(&c, nrest, rest);
out:
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (ex == CLI_EXIT_OK)
			ex = cli_error(&c, CLI_EXIT_FATAL,
				       "cannot write to standard output: %s",
				       strerror(errno));
	}
	cli_secret_free(c.password);
	free(c.option_text);
	free(c.repo_file_text);
	free(rest);
	return ex;
}
