/* render.c: turns engine events into output.
 *
 * Text mode: a one-line progress display on stderr, redrawn in place with
 * '\r' at most four times a second, only when stderr is a terminal and
 * neither -q nor --json is given.  Warnings and errors always go to stderr
 * ("warning: <path>: <message>"), notices unless -q, and with -v each
 * processed item goes to stdout ("<action> <path>").
 *
 * JSON mode (backup/restore --json): the same events as JSON lines on
 * stdout, message_type "status" (rate-limited, not with -q), "error",
 * "notice" and "verbose_status" (with -v).
 *
 * The engine may call from its worker threads; one mutex serialises output.
 */
#include "cli.h"

#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define RENDER_INTERVAL 0.25   /* seconds between progress updates */

void render_init(struct render *rd, const struct cli *c, int json)
{
	memset(rd, 0, sizeof *rd);
	rd->c = c;
	rd->json = json && c->json;
	rd->progress_tty = !c->quiet && !c->json && isatty(STDERR_FILENO);
	rd->start = now_mono();
	rd->last_draw = rd->start;
	pthread_mutex_init(&rd->lock, NULL);
}

static void clear_locked(struct render *rd)
{
	if (rd->drawn) {
		fputs("\r\x1b[K", stderr);
		fflush(stderr);
		rd->drawn = 0;
	}
}

void render_clear(struct render *rd)
{
	pthread_mutex_lock(&rd->lock);
	clear_locked(rd);
	pthread_mutex_unlock(&rd->lock);
}

void render_done(struct render *rd)
{
	render_clear(rd);
	pthread_mutex_destroy(&rd->lock);
}

static int term_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
		return ws.ws_col;
	return 80;
}

static double elapsed_of(const struct render *rd, const struct repo_progress *p)
{
	return p->elapsed > 0 ? p->elapsed : now_mono() - rd->start;
}

/* Seconds left, or < 0 when unknown. */
static double eta_of(const struct repo_progress *p, double elapsed)
{
	if (!p->bytes_total || !p->bytes_done || elapsed < 1.0 ||
	    p->bytes_done >= p->bytes_total)
		return -1;
	return elapsed * (double)(p->bytes_total - p->bytes_done) /
	       (double)p->bytes_done;
}

static void draw_locked(struct render *rd, const struct repo_progress *p)
{
	char line[512], a[32], b[32];
	double el = elapsed_of(rd, p), eta = eta_of(p, el);
	size_t len = 0, width = (size_t)term_width() - 1;

#define ADD(...)                                                               \
	do {                                                                   \
		if (len < sizeof line)                                         \
			len += (size_t)snprintf(line + len, sizeof line - len, \
						__VA_ARGS__);                  \
	} while (0)

	fmt_duration(el, a);
	ADD("[%s]", a);
	if (p->bytes_total)
		ADD(" %5.1f%%", 100.0 * (double)p->bytes_done /
					(double)p->bytes_total);
	if (p->files_total)
		ADD("  %" PRIu64 " / %" PRIu64 " files", p->files_done,
		    p->files_total);
	else
		ADD("  %" PRIu64 " files", p->files_done);
	fmt_bytes(p->bytes_done, a);
	if (p->bytes_total) {
		fmt_bytes(p->bytes_total, b);
		ADD("  %s / %s", a, b);
	} else {
		ADD("  %s", a);
	}
	if (el > 0.5) {
		fmt_bytes((uint64_t)((double)p->bytes_done / el), a);
		ADD("  %s/s", a);
	}
	if (eta >= 0) {
		fmt_duration(eta, a);
		ADD("  ETA %s", a);
	}
	if (p->errors)
		ADD("  %" PRIu64 " errors", p->errors);
#undef ADD
	if (len >= sizeof line)
		len = sizeof line - 1;
	if (len > width)
		len = width;
	fprintf(stderr, "\r%.*s\x1b[K", (int)len, line);
	fflush(stderr);
	rd->drawn = 1;
}

static void status_json(struct render *rd, const struct repo_progress *p)
{
	double el = elapsed_of(rd, p), eta = eta_of(p, el);
	json_t *o = json_object();
	int bad = 0;

#define PUT(k, v)                                                              \
	do {                                                                   \
		if (json_object_set_new(o, k, v) < 0)                          \
			bad = 1;                                               \
	} while (0)
	PUT("message_type", json_string("status"));
	PUT("seconds_elapsed", jout_u64((uint64_t)el));
	if (eta >= 0)
		PUT("seconds_remaining", jout_u64((uint64_t)eta));
	PUT("percent_done",
	    json_real(p->bytes_total ? (double)p->bytes_done /
					       (double)p->bytes_total
				     : 0.0));
	PUT("total_files", jout_u64(p->files_total));
	PUT("files_done", jout_u64(p->files_done));
	PUT("total_bytes", jout_u64(p->bytes_total));
	PUT("bytes_done", jout_u64(p->bytes_done));
	PUT("bytes_added", jout_u64(p->bytes_added));
	PUT("error_count", jout_u64(p->errors));
#undef PUT
	if (bad) {
		json_decref(o);
		return;
	}
	(void)jout_print(o, stdout);
	fflush(stdout);
}

/* {"message_type":type, ...} for an item event. */
static void item_json(const char *type, const struct repo_event *ev,
		      const char *msg)
{
	json_t *o = json_object(), *e;
	int bad = 0;

	if (json_object_set_new(o, "message_type", json_string(type)) < 0)
		bad = 1;
	if (strcmp(type, "error") == 0) {
		e = json_object();
		if (json_object_set_new(e, "message",
					jout_str(msg, strlen(msg))) < 0 ||
		    json_object_set_new(o, "error", e) < 0)
			bad = 1;
	} else if (strcmp(type, "verbose_status") == 0) {
		if (json_object_set_new(o, "action",
					json_string(ev->action ? ev->action
							       : "")) < 0)
			bad = 1;
	} else if (json_object_set_new(o, "message",
				       jout_str(msg, strlen(msg))) < 0) {
		bad = 1;
	}
	if (ev->path &&
	    json_object_set_new(o, "item",
				jout_str(ev->path, strlen(ev->path))) < 0)
		bad = 1;
	if (bad) {
		json_decref(o);
		return;
	}
	(void)jout_print(o, stdout);
	fflush(stdout);
}

static void item_text(struct render *rd, FILE *f, const char *label,
		      const struct repo_event *ev, const char *msg)
{
	clear_locked(rd);
	fflush(stdout);
	if (ev->path)
		fprintf(f, "%s: %s: %s\n", label, ev->path, msg);
	else
		fprintf(f, "%s: %s\n", label, msg);
	fflush(f);
}

void render_event(void *ud, const struct repo_event *ev)
{
	struct render *rd = ud;
	const struct cli *c = rd->c;
	const char *msg = ev->message ? ev->message : cairn_strerror(ev->code);
	double now;

	pthread_mutex_lock(&rd->lock);
	switch (ev->kind) {
	case EV_PROGRESS:
		if (!ev->progress || c->quiet)
			break;
		now = now_mono();
		if (now - rd->last_draw < RENDER_INTERVAL)
			break;
		rd->last_draw = now;
		if (rd->json)
			status_json(rd, ev->progress);
		else if (rd->progress_tty)
			draw_locked(rd, ev->progress);
		break;
	case EV_WARNING:
	case EV_ERROR:
		if (ev->kind == EV_WARNING)
			rd->warnings++;
		else
			rd->errors++;
		if (rd->json)
			item_json("error", ev, msg);
		else
			item_text(rd, stderr,
				  ev->kind == EV_WARNING ? "warning" : "error",
				  ev, msg);
		break;
	case EV_INFO:
		rd->notices++;
		if (c->quiet)
			break;
		if (rd->json)
			item_json("notice", ev, msg);
		else
			item_text(rd, stderr, "notice", ev, msg);
		break;
	case EV_FILE:
		if (!c->verbose || c->quiet)
			break;
		if (rd->json) {
			item_json("verbose_status", ev, msg);
		} else {
			clear_locked(rd);
			printf("%-10s %s\n", ev->action ? ev->action : "",
			       ev->path ? ev->path : "");
			fflush(stdout);
		}
		break;
	}
	pthread_mutex_unlock(&rd->lock);
}
