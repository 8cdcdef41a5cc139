/* replica.h: the replicated store (replica.c), for backend.c. */
#ifndef CAIRN_REPLICA_H
#define CAIRN_REPLICA_H

#include "backend.h"

/* Makes one store of n opened members (takes m and the members, also on
 * failure).  quorum 0 means all. */
int replica_open(struct backend **m, size_t n, unsigned quorum,
		 struct backend **ret);
size_t replica_count(struct backend *b);
/* A stand-in for a member that failed to open with err (not set up: the
 * caller runs backend_setup on it). */
int replica_dead_new(int err, struct backend **ret);
struct backend *replica_member(struct backend *b, size_t i);
/* Members whose listing failed (and were left out of it): in the last
 * listing, or in all since open. */
size_t replica_list_failures(struct backend *b, int since_open);

#endif
