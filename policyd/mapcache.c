/*
 * mapcache - fedmig-policyd's short memory of socketmap answers
 * (contract and why it is safe near a switch in mapcache.h).
 */
#include <stdlib.h>
#include <string.h>

#include "mapcache.h"
#include "store.h"
#include "xalloc.h"

/* FNV-1a: keys are short, and a collision only costs a store lookup. */
static size_t slot(const char *key)
{
	unsigned long long h = 14695981039346656037ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return (size_t)(h & (MAPCACHE_SLOTS - 1));
}

void mapcache_init(struct mapcache *c, long long ttl_us)
{
	memset(c, 0, sizeof(*c));
	c->ttl_us = ttl_us;
	/* calloc: pages never written cost no memory. */
	if (ttl_us > 0)
		c->e = xcalloc(MAPCACHE_SLOTS, sizeof(*c->e));
}

void mapcache_set_ttl(struct mapcache *c, long long ttl_us)
{
	if (ttl_us > 0 && c->e == NULL)
		c->e = xcalloc(MAPCACHE_SLOTS, sizeof(*c->e));
	c->ttl_us = ttl_us;
	mapcache_clear(c);
}

int mapcache_get(struct mapcache *c, const char *key, long long now, int *rc_r, char out[ADDR_MAX])
{
	struct mapcache_entry *e;

	if (c->ttl_us <= 0)
		return 0;
	e = &c->e[slot(key)];
	if (e->expires == 0 || now >= e->expires || strcmp(e->key, key) != 0) {
		c->misses++;
		return 0;
	}
	*rc_r = e->rc;
	if (e->rc == STORE_OK)
		memcpy(out, e->out, strlen(e->out) + 1);
	c->hits++;
	return 1;
}

void mapcache_put(struct mapcache *c, const char *key, long long t0, int rc, const char *out)
{
	struct mapcache_entry *e;
	size_t len = strlen(key), olen = rc == STORE_OK ? strlen(out) : 0;

	if (c->ttl_us <= 0 || (rc != STORE_OK && rc != STORE_NOTFOUND) || len >= ADDR_MAX ||
	    olen >= ADDR_MAX)
		return;
	e = &c->e[slot(key)];
	memcpy(e->key, key, len + 1);
	e->rc = rc;
	memcpy(e->out, rc == STORE_OK ? out : "", olen + 1);
	e->expires = t0 + c->ttl_us;
}

void mapcache_clear(struct mapcache *c)
{
	if (c->e == NULL)
		return;
	/* Read before written: a page never used stays unallocated. */
	for (size_t i = 0; i < MAPCACHE_SLOTS; i++)
		if (c->e[i].expires != 0)
			c->e[i].expires = 0;
}

void mapcache_free(struct mapcache *c)
{
	free(c->e);
	c->e = NULL;
}
