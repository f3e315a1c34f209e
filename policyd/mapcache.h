/*
 * mapcache - fedmig-policyd's short memory of socketmap answers.
 *
 * Postfix asks for one recipient several times within milliseconds
 * (smtpd, then cleanup), each time a store round trip; on a database
 * server that round trip is most of a lookup's cost. An answer is kept
 * at most TTL and is used only if it is still the store's answer, which
 * holds because of how a switch runs:
 *  - an answer read from a held directory row is never kept, so every
 *    kept answer of an address being switched was read before its hold
 *    was committed;
 *  - the pilot commits the switch no sooner than switch_grace after the
 *    hold, and it uses a switch_grace of at least twice
 *    socketmap_cache_time (sw_grace_us() in spm/switch.c), so every such
 *    answer has expired before the switch can change it.
 * The same holds for the second answer fedmig-policyd keeps from one
 * lookup (store_dir_lookup_next()): its physical address's NOTFOUND,
 * read from the same row, kept only when that row is not held.
 * Other directory changes (an import, fedmigctl, the directory sync) are
 * seen within TTL.
 *
 * Contract: a fixed table of MAPCACHE_SLOTS entries, one per hash of the
 * key (a newer key replaces an older one), no allocation after
 * mapcache_init(). Times are CLOCK_MONOTONIC microseconds: T0 passed to
 * mapcache_put() must be taken before the store was asked, NOW in
 * mapcache_get() when the answer is needed (not a loop's cached time).
 * mapcache_get() returns 1 with *RC_R (STORE_OK or STORE_NOTFOUND) and,
 * for STORE_OK, OUT; 0 when the key has no live entry. TTL_US 0: nothing
 * is kept. mapcache_clear() forgets every entry (reload, reopen).
 */
#ifndef FEDMIG_POLICYD_MAPCACHE_H
#define FEDMIG_POLICYD_MAPCACHE_H

#include "addr.h"

#define MAPCACHE_SLOTS 4096

struct mapcache_entry {
	long long expires; /* 0: empty */
	int rc;
	char key[ADDR_MAX];
	char out[ADDR_MAX];
};

struct mapcache {
	struct mapcache_entry *e;
	long long ttl_us;
	unsigned long long hits, misses;
};

void mapcache_init(struct mapcache *c, long long ttl_us);
void mapcache_set_ttl(struct mapcache *c, long long ttl_us);
int mapcache_get(struct mapcache *c, const char *key, long long now, int *rc_r, char out[ADDR_MAX]);
void mapcache_put(struct mapcache *c, const char *key, long long t0, int rc, const char *out);
void mapcache_clear(struct mapcache *c);
void mapcache_free(struct mapcache *c);

#endif
