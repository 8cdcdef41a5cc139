/* cli.h: declarations shared by the command-line front end, src/cli/.
 *
 * The CLI is the only part of cairn that prints.  Each command lives in
 * cmd_<verb>.c and exports one struct cli_command; main.c takes the global
 * options out of argv, dispatches, and owns password and signal handling.
 *
 * Conventions: helpers return 0 or a negative CAIRN_E_* code, as the engine
 * does.  Command entry points (struct cli_command.run) and the cli_* helpers
 * documented as "returns an exit code" print their own diagnostics and
 * return a process exit status (enum cli_exit).
 *
 * Output streams: stdout carries the requested output only (with --json,
 * only JSON); progress, warnings and errors go to stderr.  The one
 * exception is backup/restore --json, whose per-item errors and status
 * lines are JSON lines on stdout so that a script reads one stream.
 */
#ifndef CAIRN_CLI_H
#define CAIRN_CLI_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "policy.h"
#include "repo.h"

enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FATAL = 1,         /* any error, including usage errors */
	CLI_EXIT_PARTIAL = 3,       /* backup saved, some files unreadable */
	CLI_EXIT_NOREPO = 10,
	CLI_EXIT_LOCKED = 11,
	CLI_EXIT_PASSWORD = 12,
	CLI_EXIT_INTERRUPTED = 130,
};

/* Longest password accepted, in bytes (from a file, the environment or a
 * prompt). */
#define CLI_PASSWORD_MAX 4096

#define CLI_STORES_MAX 16
#define CLI_OPTIONS_MAX 64

struct cli {
	const char *repo_url;       /* the first store, for messages; may be
				     * NULL */
	/* The stores (-r repeated, --repository-file, else CAIRN_REPOSITORY)
	 * and store options (-o and the flags that stand for them). */
	const char *stores[CLI_STORES_MAX];
	size_t nstores;
	unsigned quorum;            /* --quorum, 0: all */
	const char *options[CLI_OPTIONS_MAX];
	size_t noptions;
	char *option_text;          /* strings made for options (owned) */
	size_t option_used;
	char *repo_file_text;       /* --repository-file contents (owned) */
	const char *password_file;  /* --password-file; may be NULL */
	int json;
	int quiet;
	int verbose;                /* count of -v */
	char *password;             /* sodium_malloc'd, NUL-terminated */
	size_t password_len;
};

struct cli_command {
	const char *name;
	const char *summary;        /* one line for the command list */
	const char *help;           /* full text for "cairn help NAME" */
	int (*run)(struct cli *c, int argc, char **argv);  /* exit code */
};

extern const struct cli_command cmd_init, cmd_backup, cmd_snapshots,
	cmd_forget, cmd_ls, cmd_restore, cmd_dump, cmd_check, cmd_stats,
	cmd_key, cmd_version, cmd_help, cmd_prune, cmd_repair;

/* Set by SIGINT/SIGTERM/SIGHUP; passed to the engine as its interrupt
 * flag.  (sig_atomic_t is int on every platform cairn builds on.) */
extern volatile sig_atomic_t cli_interrupted;

/* ---- main.c: errors, options, repository and passwords ----------------- */

/* Compares (and with repair, heals) the stores of r and prints the
 * per-store result; *clean tells whether all is well.  Returns an exit
 * code (replicas_run.c). */
int cli_replicas_run(struct cli *c, struct repo *r, int read_data,
		     int repair, int *clean);

/* The repository location from the global options. */
void cli_location(const struct cli *c, struct repo_location *ret);

/* Maps an engine result to an exit code (CAIRN_E_PARTIAL -> 3; callers for
 * which partial success is a failure map it themselves). */
int cli_exit_code(int rc);

/* Prints "cairn: <what>" on stderr (with --json a JSON line
 * {"message_type":"exit_error","code":exit_code,"message":...} on stderr
 * instead) and returns exit_code. */
int cli_error(const struct cli *c, int exit_code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prints "cairn: <what>: <cairn_strerror(rc)>" on stderr (with --json a
 * JSON line {"message_type":"exit_error",...} on stderr instead) and returns
 * cli_exit_code(rc). */
int cli_fail(const struct cli *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prints "cairn <cmd>: <what>" and a pointer to the help on stderr;
 * returns CLI_EXIT_FATAL. */
int cli_usage(const struct cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reports what getopt_long returned for a bad option (ch '?' or ':');
 * returns CLI_EXIT_FATAL.  The option strings must start with ':'. */
int cli_bad_option(const struct cli_command *cmd, int ch, char **argv);

/* Prints cmd's help on stdout; returns CLI_EXIT_OK. */
int cli_help_print(const struct cli_command *cmd);
/* Prints the general usage and the command list to f. */
void cli_usage_main(FILE *f);
/* The command called name, or NULL. */
const struct cli_command *cli_command_find(const char *name);

/* Reads the password (once) and opens the repository.  Returns an exit
 * code; *ret is set only on success. */
int cli_open(struct cli *c, struct repo **ret);

/* Reads the repository password into c->password (for init: confirm asks
 * twice at a prompt).  Returns an exit code. */
int cli_password_read(struct cli *c, int confirm);

/* Reads a new password for key add/passwd: from file when non-NULL, else
 * CAIRN_NEW_PASSWORD, else a double prompt.  *ret is sodium_malloc'd;
 * release with cli_secret_free.  Returns an exit code. */
int cli_password_new(const struct cli *c, const char *file, char **ret,
		     size_t *ret_len);
void cli_secret_free(char *p);

/* Resolves spec ("latest", an id or a unique prefix) and prints why when
 * it cannot; filter applies to "latest" only.  Returns an exit code. */
int cli_snapshot_find(const struct cli *c, struct repo *r, const char *spec,
		      const struct snapshot_filter *filter,
		      struct snapshot *ret);

/* ---- util.c: string vectors, parsing, formatting ----------------------- */

/* An owned, NULL-terminated vector of strings. */
struct strv {
	char **v;
	size_t n, cap;
};
#define STRV_INIT {NULL, 0, 0}

/* Appends a copy of str. */
int strv_push(struct strv *s, const char *str);
/* Appends each non-empty sep-separated part of str. */
int strv_push_split(struct strv *s, const char *str, char sep);
/* The NULL-terminated array, or NULL when empty (the engine's "none"). */
const char *const *strv_get(const struct strv *s);
void strv_free(struct strv *s);

/* The snapshot filter options shared by snapshots, ls, restore, dump and
 * stats: put CLI_FILTER_OPTIONS in the getopt_long table and hand every
 * option value to cli_filter_opt. */
enum { CLI_OPT_HOST = 1000, CLI_OPT_TAG, CLI_OPT_PATH };
#define CLI_FILTER_OPTIONS                                                     \
	{"host", required_argument, NULL, CLI_OPT_HOST},                      \
	{"tag", required_argument, NULL, CLI_OPT_TAG},                        \
	{"path", required_argument, NULL, CLI_OPT_PATH}

struct cli_filter {
	const char *host;
	struct strv tags, paths;
	struct snapshot_filter f;
};
#define CLI_FILTER_INIT {NULL, STRV_INIT, STRV_INIT, {NULL, NULL, NULL}}

/* 1 when ch was a filter option (taken), 0 when not, or CAIRN_E_NOMEM. */
int cli_filter_opt(struct cli_filter *f, int ch, const char *arg);
/* Parses the options of a command that takes only the filters and --help.
 * Returns -1 to go on (optind is past the options), else the exit code. */
int cli_filter_parse(struct cli *c, const struct cli_command *cmd, int argc,
		     char **argv, struct cli_filter *f);
/* The engine filter (borrowing from f), or NULL when no option was given. */
const struct snapshot_filter *cli_filter_get(struct cli_filter *f);
void cli_filter_free(struct cli_filter *f);

/* Unsigned decimal with an optional K/M/G/T suffix (powers of 1024,
 * optional "iB"/"B").  CAIRN_E_INVAL when malformed or out of range. */
int parse_size(const char *s, uint64_t *ret);
/* Decimal integer in [min, max]. */
int parse_int(const char *s, long min, long max, long *ret);
/* "YYYY-MM-DD HH:MM:SS" in the local time zone. */
int parse_local_time(const char *s, int64_t *ret);

/* "123 B", "1.234 KiB", ... (out: 32 bytes). */
void fmt_bytes(uint64_t n, char out[32]);
/* "MM:SS" or "H:MM:SS" (out: 32 bytes). */
void fmt_duration(double sec, char out[32]);
/* "YYYY-MM-DD HH:MM:SS" in the local time zone (out: 32 bytes). */
void fmt_local_time(int64_t sec, char out[32]);
void fmt_id(const uint8_t id[32], char out[65]);
void fmt_short_id(const uint8_t id[32], char out[9]);
/* The snapshot's paths joined by single spaces (malloc'd; NULL on OOM). */
char *fmt_paths(const struct snapshot *s);
/* Seconds on the monotonic clock. */
double now_mono(void);

/* ---- policy_opts.c: retention policy options (forget, snapshots) ------ */

/* Put CLI_POLICY_OPTIONS in the getopt_long table, hand every option value
 * to cli_policy_opt, and put CLI_POLICY_HELP (the --keep-* rules; not
 * --group-by) in the help text. */
enum {
	CLI_OPT_KEEP = 2000,            /* + enum policy_bucket */
	CLI_OPT_WITHIN = 2100,
	CLI_OPT_WITHIN_BUCKET = 2200,   /* + enum policy_bucket */
	CLI_OPT_KEEP_TAG = 2300,
	CLI_OPT_GROUP_BY,
	CLI_OPT_POLICY_END,             /* a command's own options follow */
};
#define CLI_POLICY_OPTIONS                                                     \
	{"keep-last", required_argument, NULL, CLI_OPT_KEEP + POLICY_LAST},   \
	{"keep-hourly", required_argument, NULL, CLI_OPT_KEEP + POLICY_HOURLY}, \
	{"keep-daily", required_argument, NULL, CLI_OPT_KEEP + POLICY_DAILY}, \
	{"keep-weekly", required_argument, NULL, CLI_OPT_KEEP + POLICY_WEEKLY}, \
	{"keep-monthly", required_argument, NULL,                             \
	 CLI_OPT_KEEP + POLICY_MONTHLY},                                      \
	{"keep-yearly", required_argument, NULL, CLI_OPT_KEEP + POLICY_YEARLY}, \
	{"keep-within", required_argument, NULL, CLI_OPT_WITHIN},             \
	{"keep-within-hourly", required_argument, NULL,                       \
	 CLI_OPT_WITHIN_BUCKET + POLICY_HOURLY},                              \
	{"keep-within-daily", required_argument, NULL,                        \
	 CLI_OPT_WITHIN_BUCKET + POLICY_DAILY},                               \
	{"keep-within-weekly", required_argument, NULL,                       \
	 CLI_OPT_WITHIN_BUCKET + POLICY_WEEKLY},                              \
	{"keep-within-monthly", required_argument, NULL,                      \
	 CLI_OPT_WITHIN_BUCKET + POLICY_MONTHLY},                             \
	{"keep-within-yearly", required_argument, NULL,                       \
	 CLI_OPT_WITHIN_BUCKET + POLICY_YEARLY},                              \
	{"keep-tag", required_argument, NULL, CLI_OPT_KEEP_TAG},              \
	{"group-by", required_argument, NULL, CLI_OPT_GROUP_BY}

#define CLI_POLICY_HELP                                                        \
	"      --keep-last N              the N newest snapshots\n"              \
	"      --keep-hourly N            the newest of each of the last N "     \
	"hours\n"                                                              \
	"      --keep-daily N             ... days\n"                            \
	"      --keep-weekly N            ... ISO weeks\n"                       \
	"      --keep-monthly N           ... months\n"                          \
	"      --keep-yearly N            ... years\n"                           \
	"      --keep-within D            all newer than the newest minus D "    \
	"(e.g. 1y2m7d3h)\n"                                                    \
	"      --keep-within-hourly D     the newest of each hour within D\n"    \
	"      --keep-within-daily D      ... day within D (also -weekly, "      \
	"-monthly, -yearly)\n"                                                 \
	"      --keep-tag TAG[,TAG]       those with every TAG (repeatable)\n"  \
	"  N may be \"unlimited\" (or -1); a rule that has budget left keeps "  \
	"the group's\n  oldest snapshot (\"oldest daily snapshot\").\n"

enum { CLI_GROUP_HOST = 1, CLI_GROUP_PATHS = 2, CLI_GROUP_TAGS = 4 };

struct cli_policy {
	struct policy p;
	struct strv keep_tags[64];      /* each a tag list */
	const char *const *lists[64];   /* p.keep_tags points here */
	unsigned group_by;              /* CLI_GROUP_* bits */
	int group_by_given;
};

/* No rule, grouped by host and paths. */
void cli_policy_init(struct cli_policy *p);
void cli_policy_free(struct cli_policy *p);
/* Takes option ch with value arg: a filter option (or 'H' for --host)
 * into f, a policy option into p.  Returns -1 when ch is neither, else an
 * exit code: CLI_EXIT_OK when taken, another after printing why arg is
 * bad (cmd names the command in the message). */
int cli_policy_opt(const struct cli *c, const struct cli_command *cmd,
		   struct cli_filter *f, struct cli_policy *p, int ch,
		   const char *arg);

/* One group of a listing: the indexes (ascending) of its snapshots and
 * the policy's decisions for them (dec[k] belongs to idx[k]). */
struct cli_group {
	char *key;
	size_t *idx;
	size_t n, cap;
	struct policy_decision *dec;
};

/* Sorts the n snapshots of v into groups by p->group_by, in order of
 * first appearance, and applies p->p to each.  Returns an exit code
 * (after printing why on failure); *ret and *ret_n are set even on
 * failure: release them with cli_groups_free. */
int cli_policy_apply(const struct cli *c, const struct cli_policy *p,
		     const struct snapshot *v, size_t n,
		     struct cli_group **ret, size_t *ret_n);
void cli_groups_free(struct cli_group *g, size_t n);

/* ---- json_out.c: JSON documents ---------------------------------------- */

/* A JSON string for n bytes of p; bytes that are not valid UTF-8 become
 * U+FFFD.  NULL on OOM. */
json_t *jout_str(const char *p, size_t n);
json_t *jout_u64(uint64_t v);
/* RFC 3339 string for sec/nsec in the zone offset tz. */
json_t *jout_time(int64_t sec, uint32_t nsec, int32_t tz);
/* The snapshot object of "snapshots --json" (message_type not set). */
json_t *jout_snapshot(const struct snapshot *s);
/* The summary object of a snapshot or a backup result. */
json_t *jout_summary(const struct snapshot_summary *sum, int32_t tz);
/* Writes j compactly plus a newline to f and releases it; j may be NULL
 * (OOM).  Returns 0 or a negative CAIRN_E_*. */
int jout_print(json_t *j, FILE *f);

/* ---- render.c: engine events ------------------------------------------- */

struct render {
	const struct cli *c;
	int progress_tty;       /* draw a \r progress line on stderr */
	int json;               /* status, error and verbose items as JSON */
	double start, last_draw;
	int drawn;              /* a progress line is on the terminal */
	uint64_t warnings, errors, notices;
	pthread_mutex_t lock;   /* events may come from worker threads */
};

/* Sets up rendering for one operation; json selects JSON lines on stdout
 * (backup/restore with --json). */
void render_init(struct render *rd, const struct cli *c, int json);
/* A repo_event_fn; ud is a struct render. */
void render_event(void *ud, const struct repo_event *ev);
/* Removes the progress line, if any, before other output. */
void render_clear(struct render *rd);
void render_done(struct render *rd);

/* ---- prune_run.c: prune options and report (prune, forget --prune) --- */

enum { CLI_OPT_MAX_UNUSED = 3000, CLI_OPT_MAX_REPACK, CLI_OPT_GRACE };
#define CLI_PRUNE_OPTIONS                                                      \
	{"max-unused", required_argument, NULL, CLI_OPT_MAX_UNUSED},           \
	{"max-repack-size", required_argument, NULL, CLI_OPT_MAX_REPACK},     \
	{"grace", required_argument, NULL, CLI_OPT_GRACE}
#define CLI_PRUNE_HELP                                                         \
	"      --max-unused LIMIT     unused space to tolerate in packs in use:\n" \
	"                             a percentage of the used space (default\n" \
	"                             5%), a size, or \"unlimited\" (no repack)\n" \
	"      --max-repack-size SIZE read at most SIZE of packs to repack\n"     \
	"      --grace DURATION       time between recording and deleting\n"     \
	"                             (default 24h, at least 1h; like 36h, 2d)\n"
void cli_prune_defaults(struct prune_opts *o);
/* Takes a CLI_PRUNE_OPTIONS value: -1 when taken, 0 when ch is not a prune
 * option, else an exit code (usage error). */
int cli_prune_opt(const struct cli_command *cmd, struct prune_opts *o,
		  int ch, const char *arg);
/* Runs prune with o (events rendered) and prints its report.  Returns an
 * exit code. */
int cli_prune_run(struct cli *c, struct repo *r, struct prune_opts *o);

#endif
