/* test_snapshot.c: snapshot JSON (format.md 9) and the RFC 3339 helpers.
 *
 * Golden vector snapshot_v1.json is golden_snapshot() below encoded: time
 * 2026-11-21T21:22:11.123456789+01:00, tree id bytes 0x00..0x1f, parent
 * id bytes 0x20..0x3f, two paths (one non-ASCII), two tags, a command
 * source, and a summary whose times are 1 and 5 minutes later.
 * Regenerate with CAIRN_REGEN_VECTORS=1.
 */
#include "cairn_err.h"
#include "snapshot.h"
#include "testutil.h"

#include <string.h>
#include <time.h>

static uint64_t rng;

/* The struct holds char *; these literals are never written through. */
#define W(s) ((char *)(s))

static void fill_seq(uint8_t id[32], uint8_t start)
{
	for (int i = 0; i < 32; i++)
		id[i] = (uint8_t)(start + i);
}

/* 2026-11-21T20:22:11Z */
#define GOLDEN_TIME 1795292531LL

static void golden_snapshot(struct snapshot *s)
{
	static char *paths[] = {W("/srv/data"), W("/home/\xc3\xa9t\xc3\xa9")};
	static char *tags[] = {W("nightly"), W("db")};
	static char *cmd[] = {W("dump-db"), W("--plain"), W("main")};

	memset(s, 0, sizeof *s);
	s->time_sec = GOLDEN_TIME;
	s->time_nsec = 123456789;
	s->tz_offset = 3600;
	fill_seq(s->tree, 0x00);
	s->npaths = 2;
	s->paths = paths;
	s->hostname = W("db1");
	s->username = W("root");
	s->uid = 0;
	s->gid = 0;
	s->ntags = 2;
	s->tags = tags;
	s->has_parent = 1;
	fill_seq(s->parent, 0x20);
	s->program_version = W("cairn 0.1.0");
	s->source_kind = W("command");
	s->ncommand = 3;
	s->command = cmd;
	struct snapshot_summary *m = &s->summary;
	m->backup_start_sec = GOLDEN_TIME + 60;
	m->backup_start_nsec = 5;
	m->backup_end_sec = GOLDEN_TIME + 300;
	m->backup_end_nsec = 999999999;
	m->files_new = 1;
	m->files_changed = 2;
	m->files_unmodified = 3;
	m->dirs_new = 4;
	m->dirs_changed = 5;
	m->dirs_unmodified = 6;
	m->data_blobs = 7;
	m->tree_blobs = 8;
	m->data_added = 9000000000ULL;
	m->data_added_packed = 10;
	m->total_files_processed = 11;
	m->total_bytes_processed = INT64_MAX;
}

static int strv_equal(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

static int opt_equal(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int snap_equal(const struct snapshot *a, const struct snapshot *b)
{
	return a->time_sec == b->time_sec && a->time_nsec == b->time_nsec &&
	       a->tz_offset == b->tz_offset &&
	       memcmp(a->tree, b->tree, 32) == 0 &&
	       strv_equal(a->paths, a->npaths, b->paths, b->npaths) &&
	       opt_equal(a->hostname, b->hostname) &&
	       opt_equal(a->username, b->username) && a->uid == b->uid &&
	       a->gid == b->gid &&
	       strv_equal(a->tags, a->ntags, b->tags, b->ntags) &&
	       a->has_parent == b->has_parent &&
	       (!a->has_parent || memcmp(a->parent, b->parent, 32) == 0) &&
	       opt_equal(a->program_version, b->program_version) &&
	       opt_equal(a->source_kind, b->source_kind) &&
	       strv_equal(a->command, a->ncommand, b->command, b->ncommand) &&
	       memcmp(&a->summary, &b->summary, sizeof a->summary) == 0;
}

static void test_golden(void)
{
	struct snapshot g, d;
	struct buf enc = BUF_INIT;
	size_t flen = 0;

	golden_snapshot(&g);
	CHECK_RC(snapshot_encode(&g, &enc), 0);
	uint8_t *file = test_golden_vector("snapshot_v1.json", enc.p, enc.len,
					   &flen);
	if (file) {
		CHECK_RC(snapshot_decode(file, flen, &d), 0);
		CHECK(snap_equal(&g, &d));
		snapshot_free(&d);
		free(file);
	}
	/* spot checks of the text against format.md */
	CHECK_RC(buf_put_u8(&enc, 0), 0);
	const char *j = (const char *)enc.p;
	const char *start = "{\"version\":1,\"time\":"
			    "\"2026-11-21T21:22:11.123456789+01:00\",\"tree\":\""
			    "000102030405";
	CHECK(strncmp(j, start, strlen(start)) == 0);
	CHECK(strstr(j, "\"source\":{\"kind\":\"command\",\"command\":"
			"[\"dump-db\",\"--plain\",\"main\"]}"));
	CHECK(strstr(j, "\"backup_start\":\"2026-11-21T21:23:11.000000005+01:00\""));
	buf_free(&enc);
}

static void test_round_trip(void)
{
	struct snapshot s, d;
	struct buf enc = BUF_INIT;

	/* the least a snapshot can hold */
	memset(&s, 0, sizeof s);
	char *p[] = {W("/")};
	s.npaths = 1;
	s.paths = p;
	s.hostname = W("h");
	CHECK_RC(snapshot_encode(&s, &enc), 0);
	CHECK_RC(snapshot_decode(enc.p, enc.len, &d), 0);
	CHECK(d.username == NULL && d.program_version == NULL &&
	      d.source_kind == NULL && !d.has_parent && d.ntags == 0);
	CHECK(d.npaths == 1 && strcmp(d.paths[0], "/") == 0);
	CHECK(d.time_sec == 0 && d.tz_offset == 0);
	snapshot_free(&d);
	snapshot_free(&d);

	/* random fields */
	for (int round = 0; round < 30; round++) {
		memset(&s, 0, sizeof s);
		s.time_sec = (int64_t)(test_rand(&rng) % 4000000000ULL);
		s.time_nsec = (uint32_t)(test_rand(&rng) % 1000000000);
		s.tz_offset = (int32_t)(test_rand(&rng) % 2879) * 60 - 1439 * 60;
		test_fill(&rng, s.tree, 32);
		char *paths[3] = {W("/a"), W("/b c"), W("/\"quoted\"\\")};
		s.npaths = (size_t)(test_rand(&rng) % 4);
		s.paths = paths;
		s.hostname = W("host");
		s.uid = (uint32_t)test_rand(&rng);
		s.gid = UINT32_MAX;
		char *tags[2] = {W("t1"), W("\xe2\x82\xac")};
		s.ntags = (size_t)(test_rand(&rng) % 3);
		s.tags = tags;
		s.summary.files_new = test_rand(&rng) >> 1;
		s.summary.backup_start_sec = s.time_sec;
		s.summary.backup_end_sec = s.time_sec + 1;
		s.source_kind = W("stdin");
		enc.len = 0;
		CHECK_RC(snapshot_encode(&s, &enc), 0);
		CHECK_RC(snapshot_decode(enc.p, enc.len, &d), 0);
		CHECK(snap_equal(&s, &d));
		/* determinism */
		struct buf again = BUF_INIT;
		CHECK_RC(snapshot_encode(&d, &again), 0);
		CHECK(again.len == enc.len &&
		      memcmp(again.p, enc.p, enc.len) == 0);
		buf_free(&again);
		snapshot_free(&d);
	}
	buf_free(&enc);
}

static void test_encode_errors(void)
{
	struct snapshot s;
	struct buf enc = BUF_INIT;
	char *p[] = {W("/x")}, *bad[] = {W("/\xff\xfe")}, *nul[] = {NULL};

	golden_snapshot(&s);
	s.hostname = NULL;
	CHECK_RC(snapshot_encode(&s, &enc), CAIRN_E_INVAL);
	golden_snapshot(&s);
	s.paths = bad;          /* not UTF-8 */
	s.npaths = 1;
	CHECK_RC(snapshot_encode(&s, &enc), CAIRN_E_INVAL);
	s.paths = nul;
	CHECK_RC(snapshot_encode(&s, &enc), CAIRN_E_INVAL);
	s.paths = p;
	s.summary.data_added = (uint64_t)INT64_MAX + 1;
	CHECK_RC(snapshot_encode(&s, &enc), CAIRN_E_RANGE);
	golden_snapshot(&s);
	s.npaths = SNAPSHOT_COUNT_MAX + 1;
	CHECK_RC(snapshot_encode(&s, &enc), CAIRN_E_RANGE);
	CHECK(enc.len == 0);
	buf_free(&enc);
}

/* The golden text with one substitution. */
static int decode_edit(const char *from, const char *to, struct snapshot *d)
{
	struct snapshot g;
	struct buf enc = BUF_INIT, out = BUF_INIT;
	golden_snapshot(&g);
	if (snapshot_encode(&g, &enc) < 0 || buf_put_u8(&enc, 0) < 0)
		return -1000;
	const char *j = (const char *)enc.p;
	const char *at = strstr(j, from);
	if (!at) {
		fprintf(stderr, "decode_edit: '%s' not in the golden text\n",
			from);
		buf_free(&enc);
		return -1001;
	}
	buf_put(&out, j, (size_t)(at - j));
	buf_put(&out, to, strlen(to));
	buf_put(&out, at + strlen(from), strlen(at + strlen(from)));
	int rc = snapshot_decode(out.p, out.len, d);
	if (rc == 0)
		snapshot_free(d);
	buf_free(&enc);
	buf_free(&out);
	return rc;
}

static void test_decode_errors(void)
{
	struct snapshot d;
	const struct {
		const char *from, *to;
		int want;
	} cases[] = {
		{"{", "[", CAIRN_E_CORRUPT},
		{"\"version\":1", "\"version\":2", CAIRN_E_UNSUPPORTED},
		{"\"version\":1", "\"version\":0", CAIRN_E_UNSUPPORTED},
		{"\"version\":1", "\"version\":\"1\"", CAIRN_E_CORRUPT},
		{"\"version\":1", "\"version\":1.0", CAIRN_E_CORRUPT},
		{"\"version\":1,", "", CAIRN_E_CORRUPT},
		{"\"time\":", "\"tim\":", CAIRN_E_CORRUPT},
		{"+01:00\",\"tree", "+25:00\",\"tree", CAIRN_E_CORRUPT},
		{"\"tree\":", "\"tre\":", CAIRN_E_CORRUPT},
		{"\"tree\":\"00", "\"tree\":\"0g", CAIRN_E_CORRUPT},
		{"\"tree\":\"00", "\"tree\":\"", CAIRN_E_CORRUPT},
		{"\"paths\":", "\"path\":", CAIRN_E_CORRUPT},
		{"\"paths\":[\"/srv/data\"", "\"paths\":[1", CAIRN_E_CORRUPT},
		{"\"paths\":[\"/srv/data\"", "\"paths\":[null", CAIRN_E_CORRUPT},
		{"\"paths\":[\"/srv/data\",", "\"paths\":\"/srv\",\"x\":[",
		 CAIRN_E_CORRUPT},
		{"/srv/data", "/srv\\u0000data", CAIRN_E_CORRUPT},
		{"\"hostname\":", "\"host\":", CAIRN_E_CORRUPT},
		{"\"hostname\":\"db1\"", "\"hostname\":7", CAIRN_E_CORRUPT},
		{"\"username\":\"root\"", "\"username\":[]", CAIRN_E_CORRUPT},
		{"\"uid\":0", "\"uid\":-1", CAIRN_E_CORRUPT},
		{"\"uid\":0", "\"uid\":4294967296", CAIRN_E_CORRUPT},
		{"\"gid\":0", "\"gid\":\"0\"", CAIRN_E_CORRUPT},
		{"\"tags\":[\"nightly\"", "\"tags\":[{}", CAIRN_E_CORRUPT},
		{"\"tags\":[", "\"tags\":{\"a\":[", CAIRN_E_CORRUPT},
		{"\"parent\":\"20", "\"parent\":\"2", CAIRN_E_CORRUPT},
		{"\"source\":{", "\"source\":[{", CAIRN_E_CORRUPT},
		{"\"kind\":\"command\"", "\"kind\":1", CAIRN_E_CORRUPT},
		{"\"command\":[\"dump-db\"", "\"command\":[false", CAIRN_E_CORRUPT},
		{"\"summary\":{", "\"summary\":[{", CAIRN_E_CORRUPT},
		{"\"files_new\":1", "\"files_new\":-1", CAIRN_E_CORRUPT},
		{"\"files_new\":1", "\"files_new\":1.5", CAIRN_E_CORRUPT},
		{"\"backup_end\":\"2026", "\"backup_end\":\"x2026",
		 CAIRN_E_CORRUPT},
		/* duplicates are refused */
		{"\"hostname\":\"db1\"", "\"hostname\":\"db1\",\"hostname\":\"x\"",
		 CAIRN_E_CORRUPT},
		/* trailing garbage */
		{"}}", "}}x", CAIRN_E_CORRUPT},
		/* unknown members and absent optional ones are fine */
		{"\"version\":1", "\"version\":1,\"future\":{\"a\":[1,2]}", 0},
		{"\"username\":\"root\",", "", 0},
		{"\"summary\":", "\"summary2\":", 0},
		{"\"source\":", "\"source2\":", 0},
		{"\"tags\":", "\"tags2\":", 0},
		{"+01:00\",\"tree", "Z\",\"tree", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = decode_edit(cases[i].from, cases[i].to, &d);
		if (rc != cases[i].want)
			fprintf(stderr, "case %zu (%s -> %s): %d, want %d\n", i,
				cases[i].from, cases[i].to, rc, cases[i].want);
		CHECK(rc == cases[i].want);
	}
	CHECK_RC(snapshot_decode("", 0, &d), CAIRN_E_CORRUPT);
	CHECK_RC(snapshot_decode("null", 4, &d), CAIRN_E_CORRUPT);
	CHECK_RC(snapshot_decode("{}", 2, &d), CAIRN_E_CORRUPT);

	/* limits: 65537 paths; one string of 64 KiB + 1 */
	struct buf j = BUF_INIT;
	buf_put(&j, "{\"version\":1,\"time\":\"2026-01-01T00:00:00Z\",\"tree\":\"", 51);
	for (int i = 0; i < 64; i++)
		buf_put_u8(&j, '0');
	buf_put(&j, "\",\"hostname\":\"h\",\"paths\":[", 26);
	size_t head = j.len;
	for (size_t i = 0; i < SNAPSHOT_COUNT_MAX; i++)
		buf_put(&j, i ? ",\"/\"" : "\"/\"", i ? 4 : 3);
	buf_put(&j, "]}", 2);
	CHECK_RC(snapshot_decode(j.p, j.len, &d), 0);
	CHECK(d.npaths == SNAPSHOT_COUNT_MAX);
	snapshot_free(&d);
	j.len -= 2;
	buf_put(&j, ",\"/\"]}", 6);
	CHECK_RC(snapshot_decode(j.p, j.len, &d), CAIRN_E_CORRUPT);
	j.len = head;
	buf_put_u8(&j, '"');
	for (size_t i = 0; i < SNAPSHOT_STR_MAX; i++)
		buf_put_u8(&j, 'a');
	buf_put(&j, "\"]}", 3);
	CHECK_RC(snapshot_decode(j.p, j.len, &d), 0);
	snapshot_free(&d);
	j.len -= 3;
	buf_put(&j, "a\"]}", 4);
	CHECK_RC(snapshot_decode(j.p, j.len, &d), CAIRN_E_CORRUPT);
	buf_free(&j);
}

static void expect_time(const char *s, int64_t sec, uint32_t nsec,
			int32_t off)
{
	int64_t gs = -1;
	uint32_t gn = 1;
	int32_t go = 1;
	int rc = time_parse_rfc3339(s, &gs, &gn, &go);
	if (rc != 0 || gs != sec || gn != nsec || go != off) {
		fprintf(stderr, "parse %s: rc %d, %lld.%09u %+d\n", s, rc,
			(long long)gs, gn, go);
		CHECK(!"time parse");
	}
}

static void expect_format(int64_t sec, uint32_t nsec, int32_t off,
			  const char *want)
{
	char out[64];
	time_format_rfc3339(sec, nsec, off, out);
	if (strcmp(out, want) != 0) {
		fprintf(stderr, "format %lld %u %d: %s, want %s\n",
			(long long)sec, nsec, off, out, want);
		CHECK(!"time format");
	}
}

static void test_time(void)
{
	expect_format(0, 0, 0, "1970-01-01T00:00:00.000000000Z");
	expect_format(GOLDEN_TIME, 123456789, 3600,
		      "2026-11-21T21:22:11.123456789+01:00");
	expect_format(1700000000, 1, -(5 * 3600 + 30 * 60),
		      "2023-11-14T16:43:20.000000001-05:30");
	expect_format(951782400, 0, 0, "2000-02-29T00:00:00.000000000Z");
	expect_format(-1, 999999999, 0, "1969-12-31T23:59:59.999999999Z");
	expect_format(-62167219200LL, 0, 0, "0000-01-01T00:00:00.000000000Z");
	expect_format(253402300799LL, 0, 0, "9999-12-31T23:59:59.000000000Z");
	/* clamps: years, nanoseconds, offsets (seconds dropped) */
	expect_format(INT64_MAX, 2000000000u, 0,
		      "9999-12-31T23:59:59.999999999Z");
	expect_format(INT64_MIN, 0, 0, "0000-01-01T00:00:00.000000000Z");
	expect_format(0, 0, 86400 * 3, "1970-01-01T23:59:00.000000000+23:59");
	expect_format(0, 0, 59, "1970-01-01T00:00:00.000000000Z");
	expect_format(0, 0, -3661, "1969-12-31T22:59:00.000000000-01:01");

	expect_time("1970-01-01T00:00:00Z", 0, 0, 0);
	expect_time("1970-01-01t00:00:00z", 0, 0, 0);
	expect_time("2026-11-21T21:22:11.123456789+01:00", GOLDEN_TIME,
		    123456789, 3600);
	expect_time("2026-11-21T21:22:11.1+01:00", GOLDEN_TIME, 100000000,
		    3600);
	expect_time("2026-11-21T21:22:11.12345678+01:00", GOLDEN_TIME,
		    123456780, 3600);
	expect_time("2026-11-21T15:52:11-04:30", GOLDEN_TIME, 0, -16200);
	expect_time("2026-11-21T20:22:11-00:00", GOLDEN_TIME, 0, 0);
	expect_time("2024-02-29T00:00:00Z", 1709164800, 0, 0);
	expect_time("0000-01-01T00:00:00Z", -62167219200LL, 0, 0);
	expect_time("9999-12-31T23:59:59.999999999Z", 253402300799LL,
		    999999999, 0);
	expect_time("2000-01-01T00:00:00+23:59", 946684800 - 86340, 0, 86340);

	const char *bad[] = {
		"", "2026", "2026-11-21", "2026-11-21T21:22:11",
		"2026-11-21 21:22:11Z", "2026-11-21T21:22:11.Z",
		"2026-11-21T21:22:11.1234567890Z", "2026-11-21T21:22:11ZZ",
		"2026-11-21T21:22:11+01", "2026-11-21T21:22:11+0100",
		"2026-11-21T21:22:11+24:00", "2026-11-21T21:22:11+01:60",
		"2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
		"2026-04-31T00:00:00Z", "2026-02-29T00:00:00Z",
		"1900-02-29T00:00:00Z", "2100-02-29T00:00:00Z",
		"2026-01-00T00:00:00Z", "2026-01-01T24:00:00Z",
		"2026-01-01T00:60:00Z", "2016-12-31T23:59:60Z",
		"+2026-01-01T00:00:00Z", "226-01-01T00:00:00Z",
		"2026-1-01T00:00:00Z", "2026-01-01T00:00:00 Z",
		"2026-01-01T00:00:00Z ", "2026-01-01T00:00:00.-1Z",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t s = 7;
		uint32_t n = 7;
		int32_t o = 7;
		int rc = time_parse_rfc3339(bad[i], &s, &n, &o);
		if (rc != CAIRN_E_INVAL)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK(rc == CAIRN_E_INVAL && s == 7 && n == 7 && o == 7);
	}

	/* random instants round trip, and the date agrees with gmtime_r */
	for (int i = 0; i < 20000; i++) {
		int64_t sec = -62167219200LL + 86400 +
			      (int64_t)(test_rand(&rng) % 315537811200ULL);
		uint32_t ns = (uint32_t)(test_rand(&rng) % 1000000000);
		int32_t off = ((int32_t)(test_rand(&rng) % 2879) - 1439) * 60;
		char t[64];
		time_format_rfc3339(sec, ns, off, t);
		int64_t s2;
		uint32_t n2;
		int32_t o2;
		CHECK_RC(time_parse_rfc3339(t, &s2, &n2, &o2), 0);
		CHECK(s2 == sec && n2 == ns && o2 == off);
		time_t tt = (time_t)sec;
		struct tm tm;
		if (gmtime_r(&tt, &tm)) {
			char u[64], want[64];
			time_format_rfc3339(sec, 0, 0, u);
			snprintf(want, sizeof want,
				 "%04d-%02d-%02dT%02d:%02d:%02d.000000000Z",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
				 tm.tm_hour, tm.tm_min, tm.tm_sec);
			CHECK(strcmp(u, want) == 0);
		}
	}

	/* local offsets, from POSIX TZ strings (no zone files needed) */
	setenv("TZ", "UTC0", 1);
	tzset();
	CHECK(time_local_offset(GOLDEN_TIME) == 0);
	setenv("TZ", "XST-5:30", 1);
	tzset();
	CHECK(time_local_offset(GOLDEN_TIME) == 19800);
	setenv("TZ", "YST3", 1);
	tzset();
	CHECK(time_local_offset(GOLDEN_TIME) == -10800);
	/* an offset with seconds is cut to whole minutes */
	setenv("TZ", "ZST-0:09:21", 1);
	tzset();
	CHECK(time_local_offset(GOLDEN_TIME) == 540);
	unsetenv("TZ");
	tzset();
}

int main(void)
{
	rng = test_seed("test_snapshot");
	test_golden();
	test_round_trip();
	test_encode_errors();
	test_decode_errors();
	test_time();
	return test_done("test_snapshot");
}
