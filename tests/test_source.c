/* test_source.c: byte-stream sources: the fd source, and the command
 * source whose close gives the command's verdict (non-zero exit or a
 * signal fails), and whose cancel stops a command that ignores EPIPE. */
#include "cairn_err.h"
#include "source.h"
#include "testutil.h"

#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int run(char **argv, char *out, size_t cap, size_t *n)
{
	struct source *s = NULL;
	int rc = source_command_open(argv, &s);
	if (rc < 0)
		return rc;
	rc = source_read_full(s, out, cap, n);
	int crc = source_close(s);
	return rc < 0 ? rc : crc;
}

int main(void)
{
	char out[64];
	size_t n = 0;
	char sh[] = "sh", c[] = "-c";
	char ok[] = "printf hello", fail[] = "printf partial; exit 3",
	     sig[] = "kill -9 $$", stubborn[] = "trap '' PIPE; while :; do echo y; done";
	char *a1[] = {sh, c, ok, NULL};
	CHECK_RC(run(a1, out, sizeof out, &n), 0);
	CHECK(n == 5 && !memcmp(out, "hello", 5));
	char *a2[] = {sh, c, fail, NULL};
	CHECK_RC(run(a2, out, sizeof out, &n), CAIRN_E_SOURCE);
	CHECK(strstr(source_command_status(), "status 3") != NULL);
	char *a3[] = {sh, c, sig, NULL};
	CHECK_RC(run(a3, out, sizeof out, &n), CAIRN_E_SOURCE);
	CHECK(strstr(source_command_status(), "signal 9") != NULL);
	char nope[] = "/nonexistent/command";
	char *a4[] = {nope, NULL};
	CHECK_RC(run(a4, out, sizeof out, &n), CAIRN_E_SOURCE);

	/* cancel stops a producer that never ends */
	char *a5[] = {sh, c, stubborn, NULL};
	struct source *s = NULL;
	CHECK_RC(source_command_open(a5, &s), 0);
	if (s) {
		CHECK_RC(source_read(s, out, sizeof out, &n), 0);
		time_t t0 = time(NULL);
		source_cancel(s);
		CHECK(time(NULL) - t0 < 10);
	}

	/* fd source */
	int p[2];
	CHECK(pipe(p) == 0);
	CHECK(write(p[1], "abc", 3) == 3);
	close(p[1]);
	CHECK_RC(source_fd_open(p[0], 1, &s), 0);
	CHECK_RC(source_read_full(s, out, sizeof out, &n), 0);
	CHECK(n == 3);
	CHECK_RC(source_close(s), 0);
	return test_done("test_source");
}
