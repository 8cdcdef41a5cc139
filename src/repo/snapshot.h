/* snapshot.h: snapshot files (docs/format.md section 9), plaintext JSON
 * codec, and the time helpers they use.
 */
#ifndef CAIRN_SNAPSHOT_H
#define CAIRN_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct snapshot_summary {
	int64_t backup_start_sec, backup_end_sec;  /* unix seconds */
	uint32_t backup_start_nsec, backup_end_nsec;
	uint64_t files_new, files_changed, files_unmodified;
	uint64_t dirs_new, dirs_changed, dirs_unmodified;
	uint64_t data_blobs, tree_blobs;
	uint64_t data_added, data_added_packed;
	uint64_t total_files_processed, total_bytes_processed;
	uint64_t files_failed;   /* unreadable, left out: the snapshot is partial */
};

struct snapshot {
	uint8_t id[32];          /* not encoded: H(file bytes), set by loader */
	int64_t time_sec;        /* unix time */
	uint32_t time_nsec;
	int32_t tz_offset;       /* seconds east of UTC, as written */
	uint8_t tree[32];
	size_t npaths;
	char **paths;
	char *hostname;
	char *username;
	uint32_t uid, gid;
	size_t ntags;
	char **tags;
	int has_parent;
	uint8_t parent[32];
	char *program_version;
	char *source_kind;       /* "files", "stdin" or "command" */
	size_t ncommand;
	char **command;
	struct snapshot_summary summary;
};

/* Limits a reader enforces and a writer respects. */
#define SNAPSHOT_MAX_LEN (64u << 20)   /* bytes of plaintext JSON */
#define SNAPSHOT_COUNT_MAX 65536u      /* paths, tags, command arguments */
#define SNAPSHOT_STR_MAX 65536u        /* bytes of any one string */

/* Appends the plaintext JSON (compact, members in the order of format.md
 * 9) to out.  hostname and every path/tag/argument must be non-NULL UTF-8
 * (CAIRN_E_INVAL), within the limits above (CAIRN_E_RANGE); counters must
 * be <= INT64_MAX.  username and program_version are omitted when NULL,
 * parent unless has_parent, source unless source_kind (or a command) is
 * set.  The summary's times are written with the snapshot's tz_offset.
 * On failure out is unchanged. */
int snapshot_encode(const struct snapshot *s, struct buf *out);
/* Parses into *ret (set only on success; id left zero).  CAIRN_E_CORRUPT
 * when malformed: not JSON, duplicate members, missing version/time/tree/
 * paths/hostname, a known member of the wrong type or out of range, a
 * limit exceeded; CAIRN_E_UNSUPPORTED when version is not 1.  Unknown
 * members are ignored; absent optional members are NULL/0 (paths and tags
 * are then non-NULL only when present). */
int snapshot_decode(const void *p, size_t n, struct snapshot *ret);
/* Frees every member and zeroes s; accepts a zeroed s. */
void snapshot_free(struct snapshot *s);

/* RFC 3339 with 9-digit nanoseconds and a numeric offset ("Z" when 0),
 * e.g. 2026-11-21T21:22:11.123456789+01:00; out must hold 64 bytes.  The
 * offset is truncated to whole minutes and to +-23:59, nsec to 999999999,
 * and the local time to years 0000..9999, so the text always parses back
 * (to the same instant when nothing was clamped). */
void time_format_rfc3339(int64_t sec, uint32_t nsec, int32_t tz_offset,
			 char out[64]);
/* Parses YYYY-MM-DDTHH:MM:SS[.f](Z|+hh:mm|-hh:mm) with 1..9 fraction
 * digits ('t' and 'z' accepted too); *sec is unix time (UTC), *tz_offset
 * the offset in seconds east.  A date that does not exist, a leap second
 * or anything else: CAIRN_E_INVAL, outputs untouched. */
int time_parse_rfc3339(const char *s, int64_t *sec, uint32_t *nsec,
		       int32_t *tz_offset);
/* The local zone's offset at unix time sec (seconds east of UTC), in
 * whole minutes; 0 when unknown. */
int32_t time_local_offset(int64_t sec);

#endif
