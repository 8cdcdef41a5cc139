/* prune_internal.h: what the two halves of prune share.  prune.c reads
 * the repository and decides the fate of every pack and dictionary;
 * prune_exec.c carries the decisions out (repack, deletion record, sweep)
 * in the order that keeps the repository whole after a crash at any step
 * (docs/format.md section 13).
 */
#ifndef CAIRN_PRUNE_INTERNAL_H
#define CAIRN_PRUNE_INTERNAL_H

#include "repo_internal.h"

/* Where a pack or dictionary stands in the deletion records. */
enum pr_rec { PR_LIVE = 0, PR_PENDING, PR_RIPE };

/* What this run does with a pack. */
enum pr_fate {
	PF_KEEP = 0,
	PF_DELETE,   /* ripe and still unneeded: delete (phase two) */
	PF_DROP,     /* indexed but gone from the store and unneeded:
		      * only its index entries go */
	PF_MARK,     /* unneeded now: record for deletion (phase one) */
	PF_REPACK,   /* partly used: copy what is needed, then record */
};

struct pr_pack {              /* one per pack the index names */
	uint64_t size;            /* in the store */
	uint64_t used_bytes, unused_bytes;
	uint32_t used_blobs;
	uint8_t present, rec, fate;
};

struct pr_extra {             /* a pack in the store that no index names */
	uint8_t id[32];
	uint64_t size;
	uint8_t rec, fate;
};

struct pr_dict {
	uint8_t id[32];
	uint8_t present, rec;
	uint8_t needed_after;     /* by an index entry that stays */
	uint8_t needed_now;       /* by an entry of a pack not going away */
	uint8_t fate;             /* PF_KEEP, PF_DELETE or PF_MARK */
};

struct pr {
	struct repo *r;
	const struct prune_opts *o;
	struct prune_result *res;
	int64_t t0;
	uint64_t grace;

	uint8_t *ref;             /* one bit per index entry: needed */
	struct pr_pack *pk;
	uint32_t npk;
	struct pr_extra *ex;      /* sorted by id */
	size_t nex, capex;
	struct pr_dict *dicts;    /* sorted by id */
	size_t ndicts, capdicts;

	char (*ixnames)[65];      /* index files, as listed for the pass */
	size_t nix;
	uint8_t *ix_rewrite;      /* names a pack that goes away */
	uint8_t *ix_superseded;   /* another index file replaces it */
};

/* prune.c */
struct pr_extra *pr_extra_find(struct pr *p, const uint8_t id[32]);
struct pr_dict *pr_dict_find(struct pr *p, const uint8_t id[32]);
/* The fate of pack id, PF_KEEP for a pack this run does not know (a new
 * one from a concurrent backup). */
uint8_t pr_pack_fate(struct pr *p, const uint8_t id[32]);

/* prune_exec.c */
int pr_repack(struct pr *p);
int pr_record_write(struct pr *p);
int pr_sweep(struct pr *p);

#endif
