/* mark.c: the deletion record codec (docs/format.md section 13). */
#include "mark.h"
#include "cairn_err.h"

#include <stdlib.h>
#include <string.h>

#define MARK_VERSION 1
#define MARK_TIME_LIMIT ((int64_t)1 << 40)

static int put_ids(struct buf *out, uint8_t (*v)[32], size_t n)
{
	int rc;
	TRY(buf_put_varint(out, n));
	for (size_t i = 0; i < n; i++)
		TRY(buf_put(out, v[i], 32));
out:
	return rc;
}

int mark_record_encode(const struct mark_record *m, struct buf *out)
{
	const size_t start = out->len;
	int rc;
	if (m->grace < MARK_GRACE_MIN || m->grace > MARK_GRACE_MAX ||
	    m->time > MARK_TIME_LIMIT || m->time < -MARK_TIME_LIMIT)
		return CAIRN_E_INVAL;
	TRY(buf_put_u8(out, MARK_VERSION));
	TRY(buf_put_svarint(out, m->time));
	TRY(buf_put_varint(out, m->grace));
	TRY(put_ids(out, m->packs, m->npacks));
	TRY(put_ids(out, m->dicts, m->ndicts));
out:
	if (rc < 0)
		out->len = start;
	return rc;
}

/* Reads a count of ids and the ids; the count must be backed by the
 * bytes left, so that a hostile count cannot make us allocate. */
static int get_ids(struct rd *r, uint8_t (**ret)[32], size_t *n)
{
	uint64_t k = rd_varint(r);
	if (rd_status(r) < 0 || k > rd_left(r) / 32)
		return CAIRN_E_CORRUPT;
	*ret = NULL;
	*n = 0;
	if (k == 0)
		return 0;
	uint8_t(*v)[32] = malloc((size_t)k * 32);
	if (!v)
		return CAIRN_E_NOMEM;
	rd_bytes(r, v, (size_t)k * 32);
	*ret = v;
	*n = (size_t)k;
	return 0;
}

int mark_record_decode(const void *p, size_t n, struct mark_record *ret)
{
	struct mark_record m;
	struct rd r;
	int rc;
	memset(&m, 0, sizeof m);
	rd_init(&r, p, n);
	uint8_t version = rd_u8(&r);
	if (rd_status(&r) < 0)
		return CAIRN_E_CORRUPT;
	if (version != MARK_VERSION)
		return CAIRN_E_UNSUPPORTED;
	m.time = rd_svarint(&r);
	m.grace = rd_varint(&r);
	/* times beyond +-2^40 s (35,000 years) are refused so that time +
	 * grace cannot overflow */
	if (rd_status(&r) < 0 || m.grace < MARK_GRACE_MIN ||
	    m.grace > MARK_GRACE_MAX || m.time > MARK_TIME_LIMIT ||
	    m.time < -MARK_TIME_LIMIT) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	TRY(get_ids(&r, &m.packs, &m.npacks));
	TRY(get_ids(&r, &m.dicts, &m.ndicts));
	if (rd_status(&r) < 0 || rd_left(&r) != 0) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	*ret = m;
	return 0;
out:
	mark_record_free(&m);
	return rc;
}

void mark_record_free(struct mark_record *m)
{
	free(m->packs);
	free(m->dicts);
	memset(m, 0, sizeof *m);
}

int mark_record_equal(const struct mark_record *a, const struct mark_record *b)
{
	return a->time == b->time && a->grace == b->grace &&
	       a->npacks == b->npacks && a->ndicts == b->ndicts &&
	       (!a->npacks || !memcmp(a->packs, b->packs, a->npacks * 32)) &&
	       (!a->ndicts || !memcmp(a->dicts, b->dicts, a->ndicts * 32));
}

int64_t mark_record_ripe_at(const struct mark_record *m)
{
	return m->time + (int64_t)m->grace;
}

int64_t mark_record_commit_by(const struct mark_record *m)
{
	return m->time + (int64_t)(m->grace / 2);
}
