/*
 * dirsync_incr - an incremental listing (RFC 4533 changes since the
 * cookie) costs in proportion to its changes: of a system's last good
 * listing only the accounts it changes or deletes are read (by key), plus
 * those with an address in a standing conflict (so that a conflict
 * another system cleared is looked at again); its count comes from the
 * store, and the store is updated by key. The full-listing path
 * (dirsync_up.c) is unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include "dirsync_int.h"
#include "xalloc.h"

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct dacc *)a)->key, ((const struct dacc *)b)->key);
}

static const struct dacc *find(const struct dacc *v, size_t n, const char *key)
{
	struct dacc k = {.key = (char *)key};

	return n ? bsearch(&k, v, n, sizeof(*v), cmp_key) : NULL;
}

/* prev_add: Y's stored account KEY, if any, appended to Y's prev. */
static int prev_add(struct ds_run *r, struct ds_sys *y, const char *key)
{
	int rc = store_dacc_get(r->s, y->name, key, &y->prev[y->nprev]);

	if (rc == STORE_ERR)
		return -1;
	y->nprev += rc == STORE_OK;
	return 0;
}

/* dedupe: V (sorted by key) without repeated keys; the new count. */
static size_t dedupe(struct dacc *v, size_t n)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		if (m > 0 && strcmp(v[m - 1].key, v[i].key) == 0) {
			store_dacc_clear(&v[i]);
			continue;
		}
		v[m++] = v[i];
	}
	return m;
}

/* conflicted: Y's accounts in a standing conflict join both its prev and
 * its new set (unless the listing changed them): they are judged again. */
static void conflicted(struct ds_sys *y, struct dacc *c, size_t nc)
{
	size_t n0 = y->ncur;

	y->cur = xrealloc(y->cur, (y->ncur + nc + 1) * sizeof(*y->cur));
	for (size_t i = 0; i < nc; i++) {
		if (find(y->cur, n0, c[i].key) || find(y->prev, y->nprev, c[i].key)) {
			store_dacc_clear(&c[i]);
			continue;
		}
		y->prev[y->nprev++] = (struct dacc){
			xstrdup(c[i].key),     xstrdup(c[i].access), xstrdup(c[i].physical),
			xstrdup(c[i].aliases), xstrdup(c[i].name),   xstrdup(c[i].grp)};
		y->cur[y->ncur++] = c[i];
	}
	free(c);
	if (y->ncur)
		qsort(y->cur, y->ncur, sizeof(*y->cur), cmp_key);
	if (y->nprev)
		qsort(y->prev, y->nprev, sizeof(*y->prev), cmp_key);
	y->nprev = dedupe(y->prev, y->nprev);
	y->ncur = dedupe(y->cur, y->ncur);
}

int ds_incr_prepare(struct ds_run *r, struct ds_sys *y)
{
	long long total;
	struct dacc *c;
	size_t nc;

	if (store_dacc_count(r->s, y->name, &total) < 0 ||
	    store_dacc_conflicted(r->s, y->name, &c, &nc) < 0)
		return -1;
	y->nlast = (size_t)total;
	/* Room for the changed, the deleted and the conflicted. */
	y->prev = xcalloc(y->ncur + y->l.ngone + nc + 1, sizeof(*y->prev));
	for (size_t i = 0; i < y->ncur; i++)
		if (prev_add(r, y, y->cur[i].key) < 0)
			goto fail;
	for (size_t i = 0; i < y->l.ngone; i++)
		if (!find(y->cur, y->ncur, y->l.gone[i]) && prev_add(r, y, y->l.gone[i]) < 0)
			goto fail;
	if (y->nprev)
		qsort(y->prev, y->nprev, sizeof(*y->prev), cmp_key);
	y->nprev = dedupe(y->prev, y->nprev);
	conflicted(y, c, nc);
	return 0;
fail:
	store_dacc_free(c, nc);
	return -1;
}

int ds_incr_elsewhere(struct ds_run *r, const struct ds_sys *y, const char *access)
{
	char *keys = NULL, *save = NULL;
	int rc = 0;

	if (store_dacc_access_key(r->s, y->name, access, &keys) < 0)
		return -1;
	for (char *k = strtok_r(keys, " ", &save); k && !rc; k = strtok_r(NULL, " ", &save))
		rc = find(y->prev, y->nprev, k) == NULL;
	free(keys);
	return rc;
}

int ds_incr_store(struct ds_run *r, const struct ds_sys *y, int held, long long *n_r)
{
	const char **del = xcalloc(y->nprev + 1, sizeof(*del));
	size_t m = 0;
	int rc;

	for (size_t i = 0; !held && i < y->nprev; i++)
		if (find(y->cur, y->ncur, y->prev[i].key) == NULL)
			del[m++] = y->prev[i].key;
	rc = store_dacc_apply(r->s, y->name, y->cur, y->ncur, del, m, r->now);
	free(del);
	if (rc == STORE_ERR || store_dacc_count(r->s, y->name, n_r) < 0)
		return -1;
	return 0;
}
