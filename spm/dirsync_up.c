/*
 * dirsync_up - upward, one system (contract in dirsync.h): its new
 * listing as accounts, the shrink guard, every other system's claims, the
 * removals, then each account against the directory. Each change is
 * written as it is planned, in the run's transaction, so a later account
 * sees an earlier one's change the same way in a dry run and a real one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dirsync_int.h"
#include "log.h"
#include "state.h"
#include "store_req.h"
#include "xalloc.h"

/* A claim: ADDR (access or alias) listed by system SYS; OWNED: ADDR was
 * allocated for the claim (an alias cut out of its list). */
struct claim {
	const char *addr, *sys;
	int owned;
};

struct up {
	struct ds_run *r;
	struct ds_sys *y;
	struct claim *claims;
	size_t nclaims, cap;
	struct dacc **others; /* other systems' stored accounts, to free */
	size_t *nothers, nother;
	int held;
};

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct dacc *)a)->key, ((const struct dacc *)b)->key);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* split: the words of LIST (modified in place), sorted, without repeats. */
static char **split(char *list, size_t *n_r)
{
	char **v = xcalloc(strlen(list) / 2 + 2, sizeof(*v)), *save = NULL;
	size_t n = 0, m = 0;

	for (char *w = strtok_r(list, " ", &save); w; w = strtok_r(NULL, " ", &save))
		v[n++] = w;
	qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (m == 0 || strcmp(v[m - 1], v[i]) != 0)
			v[m++] = v[i];
	*n_r = m;
	return v;
}

/* sorted_aliases: LIST's aliases sorted, without repeats, space-separated. */
static char *sorted_aliases(const char *list, const char *access)
{
	char *copy = xstrdup(list), *out = xcalloc(strlen(list) + 1, 1);
	size_t n;
	char **v = split(copy, &n);

	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i], access) == 0)
			continue; /* the access address is no alias of itself */
		if (*out)
			strcat(out, " ");
		strcat(out, v[i]);
	}
	free(v);
	free(copy);
	return out;
}

/* to_dacc: listed account A as stored; the physical address derived
 * (access local part @ NAME_domain) when the driver gives none. */
static void to_dacc(const struct config *cfg, const char *sys, const struct dir_account *a,
		    struct dacc *d)
{
	d->key = xstrdup(a->key);
	d->access = xstrdup(a->access);
	if (*a->physical || !*a->access) {
		d->physical = xstrdup(a->physical);
	} else {
		const char *at = strrchr(a->access, '@');

		d->physical = xasprintf("%.*s@%s", (int)(at - a->access), a->access,
					config_sys_str(cfg, sys, "domain"));
	}
	d->aliases = sorted_aliases(a->aliases, a->access);
	d->name = xstrdup(a->name);
	d->grp = xstrdup(a->group);
}

static void dacc_copy(struct dacc *d, const struct dacc *a)
{
	*d = (struct dacc){xstrdup(a->key),	xstrdup(a->access), xstrdup(a->physical),
			   xstrdup(a->aliases), xstrdup(a->name),   xstrdup(a->grp)};
}

/* compact: V without the dropped (key NULL) accounts, sorted by key, a
 * repeated key kept once; the new count. */
static size_t compact(struct dacc *v, size_t n, const char *sys)
{
	size_t m = 0, k = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i].key != NULL)
			v[k++] = v[i];
	qsort(v, k, sizeof(*v), cmp_key);
	for (size_t i = 0; i < k; i++) {
		if (m > 0 && strcmp(v[m - 1].key, v[i].key) == 0) {
			log_warn("directory sync %s: key %s listed twice: the first kept", sys,
				 v[i].key);
			store_dacc_clear(&v[i]);
			continue;
		}
		v[m++] = v[i];
	}
	return m;
}

/* drop_key: mark the account of V[0..N) (by key) with KEY in DROP. */
static void drop_key(const struct dacc *v, size_t n, const char *key, char *drop)
{
	struct dacc k = {.key = (char *)key};
	const struct dacc *hit = n ? bsearch(&k, v, n, sizeof(*v), cmp_key) : NULL;

	if (hit)
		drop[hit - v] = 1;
}

/* merge: Y's new account set: the full listing, or its last good one with
 * the incremental changes applied (a changed account replaces its old
 * self, a deleted key drops it). */
static void merge(struct ds_run *r, struct ds_sys *y)
{
	const struct dir_listing *l = &y->l;
	size_t n = 0, np = l->incremental ? y->nprev : 0;
	struct dacc *v = xcalloc(np + l->nacc + 1, sizeof(*v));
	char *drop = xcalloc(np + 1, 1);

	for (size_t i = 0; i < np; i++)
		dacc_copy(&v[n++], &y->prev[i]);
	for (size_t i = 0; i < l->ngone && np; i++)
		drop_key(v, np, l->gone[i], drop);
	for (size_t i = 0; i < l->nacc; i++) {
		drop_key(v, np, l->acc[i].key, drop);
		to_dacc(r->cfg, y->name, &l->acc[i], &v[n++]);
	}
	for (size_t i = 0; i < np; i++)
		if (drop[i])
			store_dacc_clear(&v[i]);
	free(drop);
	y->ncur = compact(v, n, y->name);
	y->cur = v;
}

/* find: the account of V (by key) with KEY, or NULL. */
static const struct dacc *find(const struct dacc *v, size_t n, const char *key)
{
	struct dacc k = {.key = (char *)key};

	return n ? bsearch(&k, v, n, sizeof(*v), cmp_key) : NULL;
}

/* --- claims: who lists which address --- */

static int cmp_claim(const void *a, const void *b)
{
	return strcmp(((const struct claim *)a)->addr, ((const struct claim *)b)->addr);
}

static void claim_add(struct up *u, const char *addr, const char *sys, int owned)
{
	if (u->nclaims == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 1024;
		u->claims = xrealloc(u->claims, u->cap * sizeof(*u->claims));
	}
	u->claims[u->nclaims++] = (struct claim){addr, sys, owned};
}

static void claim_all(struct up *u, const struct dacc *v, size_t n, const char *sys)
{
	for (size_t i = 0; i < n; i++) {
		if (!*v[i].access)
			continue;
		claim_add(u, v[i].access, sys, 0);
		for (const char *p = v[i].aliases; *p;) {
			size_t len = strcspn(p, " ");

			if (len)
				claim_add(u, xstrndup(p, len), sys, 1);
			p += len;
			p += *p == ' ';
		}
	}
}

/* in_run: system NAME if this run listed it (its new set merged), else
 * NULL. */
static const struct ds_sys *in_run(const struct ds_run *r, const char *name)
{
	for (size_t i = 0; i < r->nsys; i++)
		if (r->sys[i].listed && strcmp(r->sys[i].name, name) == 0)
			return &r->sys[i];
	return NULL;
}

/* claims: every system's accounts (Y's new set; the others' new sets when
 * this run listed them, else their stored ones). */
static int claims(struct up *u)
{
	size_t n;
	const char *const *all = config_list(u->r->cfg, "systems", &n);

	u->others = xcalloc(n + 1, sizeof(*u->others));
	u->nothers = xcalloc(n + 1, sizeof(*u->nothers));
	claim_all(u, u->y->cur, u->y->ncur, u->y->name);
	for (size_t i = 0; i < n; i++) {
		const struct ds_sys *o = in_run(u->r, all[i]);

		if (strcmp(all[i], u->y->name) == 0)
			continue;
		if (o)
			claim_all(u, o->cur, o->ncur, all[i]);
		if (o && !o->l.incremental)
			continue;
		if (store_dacc_load(u->r->s, all[i], &u->others[u->nother],
				    &u->nothers[u->nother]) < 0)
			return -1;
		/* An incremental listing of this run: its changes (above) and
		 * the stored accounts it leaves as they are. */
		for (size_t k = 0; k < u->nothers[u->nother]; k++) {
			const struct dacc *a = &u->others[u->nother][k];

			if (o == NULL || !(find(o->prev, o->nprev, a->key) ||
					   find(o->cur, o->ncur, a->key)))
				claim_all(u, a, 1, all[i]);
		}
		u->nother++;
	}
	if (u->nclaims)
		qsort(u->claims, u->nclaims, sizeof(*u->claims), cmp_claim);
	return 0;
}

/* first_claim: the first claim of ADDR, or NULL. */
static const struct claim *first_claim(const struct up *u, const char *addr)
{
	struct claim k = {addr, NULL, 0};
	const struct claim *c =
		u->nclaims ? bsearch(&k, u->claims, u->nclaims, sizeof(k), cmp_claim) : NULL;

	while (c && c > u->claims && strcmp(c[-1].addr, addr) == 0)
		c--;
	return c;
}

/* claimed: a system listing ADDR: Y itself when SELF, else another one;
 * NULL when none. */
static const char *claimed(const struct up *u, const char *addr, int self)
{
	const struct claim *c = first_claim(u, addr);

	for (; c && c < u->claims + u->nclaims && strcmp(c->addr, addr) == 0; c++)
		if ((strcmp(c->sys, u->y->name) == 0) == self)
			return c->sys;
	return NULL;
}

static void up_free(struct up *u)
{
	for (size_t i = 0; i < u->nclaims; i++)
		if (u->claims[i].owned)
			free((char *)u->claims[i].addr);
	for (size_t i = 0; i < u->nother; i++)
		store_dacc_free(u->others[i], u->nothers[i]);
	free(u->others);
	free(u->nothers);
	free(u->claims);
}

/* --- the plan, written as it goes --- */

/* conflict: ADDR reported and recorded as claimed by SYSTEMS; 1. */
static int conflict(struct up *u, const char *addr, const char *systems, const char *detail)
{
	ds_act(u->r, u->y, 0, DS_CONFLICT, addr, "%s", detail);
	return store_dconflict_put(u->r->s, addr, systems, detail, u->r->now) == STORE_ERR ? -1 : 1;
}

/*
 * moving: 1 if ACCESS is (or was) moved by a request between Y and OTHER:
 * a live one (the target announced it at E4), or a complete one (the
 * source still lists what it held until its deletion). Then the
 * directory's owner stays, and no conflict is raised.
 */
static int moving(struct up *u, const char *access, const char *other)
{
	struct req q;
	int rc = store_req_find(u->r->s, access, &q);
	const char *y = u->y->name;

	if (rc == STORE_ERR)
		return -1;
	if (rc != STORE_OK)
		return 0;
	if (state_is_final(q.state) && q.state != ST_COMPLETE && q.state != ST_SOURCE_DELETED)
		return 0;
	return (strcmp(q.source_system, y) == 0 && strcmp(q.target_system, other) == 0) ||
	       (strcmp(q.source_system, other) == 0 && strcmp(q.target_system, y) == 0);
}

/* check_claim: ADDR of A against the other systems' listings: 0 free, 1
 * a conflict (reported), 2 moved by a request (left alone), -1 error. */
static int check_claim(struct up *u, const struct dacc *a, const char *addr)
{
	const char *other = claimed(u, addr, 0);
	char systems[2 * STORE_SYSTEM_MAX + 2], detail[512];
	int m;

	if (other == NULL)
		return 0;
	if ((m = moving(u, a->access, other)) != 0)
		return m < 0 ? -1 : 2;
	snprintf(systems, sizeof(systems), "%s %s", u->y->name, other);
	snprintf(detail, sizeof(detail), "listed by %s (key %.200s) and by %s: nothing changed",
		 u->y->name, a->key, other);
	return conflict(u, addr, systems, detail);
}

/* check_claims: every address of A; the worst result of check_claim. */
static int check_claims(struct up *u, const struct dacc *a)
{
	char *copy = xstrdup(a->aliases), *save = NULL;
	int rc = check_claim(u, a, a->access);

	for (char *w = strtok_r(copy, " ", &save); w && rc >= 0; w = strtok_r(NULL, " ", &save)) {
		int c = check_claim(u, a, w);

		rc = c < 0 ? -1 : c > rc ? c : rc;
	}
	free(copy);
	return rc;
}

static const char *role(enum dir_match m)
{
	static const char *const names[] = {"access address", "alias", "physical address",
					    "former physical address"};

	return names[m];
}

/* check_entry_addr: ADDR (A's physical address or an alias) belongs to
 * no other directory entry: 0, else 1 (a conflict, reported), -1. */
static int check_entry_addr(struct up *u, const struct dacc *a, const char *addr)
{
	char detail[3 * ADDR_MAX];
	struct dir_entry e;
	int rc = store_dir_lookup(u->r->s, addr, &e);

	if (rc == STORE_ERR)
		return -1;
	if (rc == STORE_NOTFOUND || strcmp(e.access, a->access) == 0)
		return 0;
	snprintf(detail, sizeof(detail), "%s, listed for %s by %s, is the %s of %s (%s)", addr,
		 a->access, u->y->name, role(e.match), e.access, e.system);
	return conflict(u, addr, u->y->name, detail);
}

static int check_entry_addrs(struct up *u, const struct dacc *a)
{
	char *copy = xstrdup(a->aliases), *save = NULL;
	int rc = check_entry_addr(u, a, a->physical), bad = rc;

	for (char *w = strtok_r(copy, " ", &save); w && rc >= 0; w = strtok_r(NULL, " ", &save))
		if ((rc = check_entry_addr(u, a, w)) != 0)
			bad = rc;
	free(copy);
	return rc < 0 ? -1 : bad;
}

/* put: A's entry written (owner Y). */
static int put(struct up *u, const struct dacc *a)
{
	char *copy = xstrdup(a->aliases);
	size_t n;
	char **v = split(copy, &n);
	int rc = store_dir_put(u->r->s, a->access, u->y->name, a->physical,
			       (const char *const *)v, n, a->name, u->r->now);

	free(v);
	free(copy);
	return rc == STORE_ERR ? -1 : 0;
}

/* changed: what differs between A and the stored entry E, into OUT; 0
 * when nothing does. */
static int changed(struct up *u, const struct dacc *a, const struct dir_entry *e, char *out,
		   size_t size)
{
	char *aliases = NULL, *name = NULL;
	size_t len = 0;

	out[0] = '\0';
	if (store_dir_aliases(u->r->s, a->access, &aliases) < 0 ||
	    store_dir_name(u->r->s, a->access, &name) < 0) {
		free(aliases);
		return -1;
	}
	if (strcmp(e->physical, a->physical) != 0)
		len += (size_t)snprintf(out + len, size - len, "physical %s -> %s; ", e->physical,
					a->physical);
	if (strcmp(aliases, a->aliases) != 0 && len < size)
		len += (size_t)snprintf(out + len, size - len, "aliases '%.300s' -> '%.300s'; ",
					aliases, a->aliases);
	if (strcmp(name, a->name) != 0 && len < size)
		len += (size_t)snprintf(out + len, size - len, "name '%.100s' -> '%.100s'; ",
					name, a->name);
	free(aliases);
	free(name);
	if (len >= size)
		len = size - 1;
	if (len >= 2)
		out[len - 2] = '\0';
	return len > 0;
}

/* up_entry: A's entry exists, owned by Y: changed if it differs (adopted
 * when Y's last good listing did not have A: a CSV import made it). */
static int up_entry(struct up *u, const struct dacc *a, const struct dir_entry *e)
{
	char what[1024];
	int rc;
	struct req q;

	if (e->held)
		return 0; /* the migration under way owns the entry */
	if ((rc = ds_live(u->r, a->access, &q)) != 0)
		return rc < 0 ? -1 : 0;
	if ((rc = changed(u, a, e, what, sizeof(what))) <= 0)
		return rc;
	if ((rc = check_entry_addrs(u, a)) != 0)
		return rc < 0 ? -1 : 0;
	if (put(u, a) < 0)
		return -1;
	ds_act(u->r, u->y, 0, DS_CHANGE, a->access, "%s%s",
	       find(u->y->prev, u->y->nprev, a->key) ? "" : "adopted; ", what);
	return 0;
}

/*
 * take_over: the directory gives A's access address to system E->system,
 * whose listing of this run no longer has it (check_claims found no other
 * claim) and whose deletions are not held: the entry becomes Y's now, as
 * the next run would do after that system's pass removed it; 1. 0 when
 * that system was not listed in this run, is held, or a migration holds
 * the entry; -1 on a store error.
 */
static int take_over(struct up *u, const struct dacc *a, const struct dir_entry *e)
{
	const struct ds_sys *o = in_run(u->r, e->system);
	struct req q;
	int rc;

	if (o == NULL || o->held || e->held)
		return 0;
	if ((rc = ds_live(u->r, a->access, &q)) != 0)
		return rc < 0 ? -1 : 0;
	if ((rc = check_entry_addrs(u, a)) != 0)
		return rc < 0 ? -1 : 1;
	if (put(u, a) < 0)
		return -1;
	ds_act(u->r, u->y, 0, DS_CHANGE, a->access, "owner %s -> %s (%s lists it no more), %s",
	       e->system, u->y->name, e->system, a->physical);
	return 1;
}

/* up_account: account A of Y's new set against the directory. */
static int up_account(struct up *u, const struct dacc *a)
{
	const char *dom = config_sys_str(u->r->cfg, u->y->name, "domain");
	char detail[3 * ADDR_MAX], systems[2 * STORE_SYSTEM_MAX + 2];
	struct dir_entry e;
	int rc;

	if (!*a->access)
		return 0;
	if (strcasecmp(addr_domain(a->physical), dom) != 0) {
		log_warn("directory sync %s: %s (key %s): physical address %s is not in %s: "
			 "left out", u->y->name, a->access, a->key, a->physical, dom);
		return 0;
	}
	if ((rc = check_claims(u, a)) != 0)
		return rc < 0 ? -1 : 0;
	rc = store_dir_lookup(u->r->s, a->access, &e);
	if (rc == STORE_ERR)
		return -1;
	if (rc == STORE_NOTFOUND) {
		if ((rc = check_entry_addrs(u, a)) != 0)
			return rc < 0 ? -1 : 0;
		if (put(u, a) < 0)
			return -1;
		ds_act(u->r, u->y, 0, DS_ADD, a->access, "%s%s%s", a->physical,
		       *a->aliases ? ", aliases " : "", a->aliases);
		return 0;
	}
	if (e.match != DIR_ACCESS) {
		snprintf(detail, sizeof(detail), "listed by %s as an access address, it is the %s of %s",
			 u->y->name, role(e.match), e.access);
		return conflict(u, a->access, u->y->name, detail) < 0 ? -1 : 0;
	}
	if (strcmp(e.system, u->y->name) == 0)
		return up_entry(u, a, &e);
	if ((rc = moving(u, a->access, e.system)) != 0)
		return rc < 0 ? -1 : 0;
	if ((rc = take_over(u, a, &e)) != 0)
		return rc < 0 ? -1 : 0;
	snprintf(systems, sizeof(systems), "%s %s", u->y->name, e.system);
	snprintf(detail, sizeof(detail), "listed by %s, the directory gives it to %s: nothing changed",
		 u->y->name, e.system);
	return conflict(u, a->access, systems, detail) < 0 ? -1 : 0;
}

/* gone: the accounts of Y's last good listing missing from the new one. */
static size_t gone(const struct ds_sys *y)
{
	size_t n = 0;

	for (size_t i = 0; i < y->nprev; i++)
		n += find(y->cur, y->ncur, y->prev[i].key) == NULL;
	return n;
}

/* guard: 1 if Y's deletions are held back (reported), 0 if they go on. */
static int guard(struct up *u)
{
	struct ds_sys *y = u->y;
	size_t g = gone(y), shrink = y->nlast > y->ncur ? y->nlast - y->ncur : 0;
	int over = ds_share_over(u->r, y->l.incremental ? g : shrink, y->nlast);

	if (!over)
		return 0;
	if (u->r->o->force) {
		log_warn("directory sync %s: %zu of %zu accounts gone: deleted (--force)", y->name, g,
			 y->nlast);
		return 0;
	}
	ds_act(u->r, y, 0, DS_HELD, "",
	       "%zu of the %zu accounts of the last good listing are gone (%zu listed; limit "
	       "directory_shrink_limit = %lld%%): no deletion; --force applies them",
	       g, y->nlast, y->l.incremental ? y->nlast - g : y->ncur,
	       config_int(u->r->cfg, "directory_shrink_limit"));
	return 1;
}

/* up_removal: P, gone from Y's listing: its entry removed, unless the
 * address is Y's under another key, another system owns it now, or a
 * migration concerns it. */
static int up_removal(struct up *u, const struct dacc *p)
{
	struct dir_entry e;
	struct req q;
	int rc;

	if (!*p->access || claimed(u, p->access, 1))
		return 0;
	if (u->y->l.incremental && (rc = ds_incr_elsewhere(u->r, u->y, p->access)) != 0)
		return rc < 0 ? -1 : 0;
	rc = store_dir_lookup(u->r->s, p->access, &e);
	if (rc != STORE_OK)
		return rc == STORE_ERR ? -1 : 0;
	if (e.match != DIR_ACCESS || strcmp(e.system, u->y->name) != 0)
		return 0;
	if (e.held || (rc = ds_live(u->r, p->access, &q)) != 0) {
		if (rc >= 0)
			log_info("directory sync %s: %s gone from the listing: kept, being migrated",
				 u->y->name, p->access);
		return rc < 0 ? -1 : 0;
	}
	if (u->held) {
		ds_act(u->r, u->y, 0, DS_HELD, p->access, "gone from %s's listing (key %.200s): "
			"not removed", u->y->name, p->key);
		return 0;
	}
	if (store_dir_remove(u->r->s, p->access) < 0)
		return -1;
	ds_act(u->r, u->y, 0, DS_REMOVE, p->access, "gone from %s's listing (key %.200s)",
	       u->y->name, p->key);
	return 0;
}

/* finish: Y's accounts (with those held back) and its sync state. */
static int finish(struct up *u)
{
	struct ds_sys *y = u->y;
	size_t n = y->ncur;
	struct dacc *v = xcalloc(y->ncur + y->nprev + 1, sizeof(*v));
	struct sys_sync ss;
	int rc;

	long long count;

	if (y->ncur)
		memcpy(v, y->cur, y->ncur * sizeof(*v));
	for (size_t i = 0; u->held && i < y->nprev; i++)
		if (find(y->cur, y->ncur, y->prev[i].key) == NULL)
			v[n++] = y->prev[i];
	if (y->l.incremental) {
		rc = ds_incr_store(u->r, y, u->held, &count) < 0 ? STORE_ERR : STORE_OK;
		n = (size_t)count;
	} else {
		rc = store_dacc_replace(u->r->s, y->name, v, n, u->r->now);
	}
	free(v);
	if (rc == STORE_ERR || store_sys_sync_get(u->r->s, y->name, &ss) == STORE_ERR)
		return -1;
	free(ss.cookie);
	/* Held: the old cookie stays, so the next listing brings the same
	 * deletions again (to be held again, or forced). */
	ss.cookie = u->held ? NULL : y->l.cookie ? y->l.cookie : "";
	ss.accounts = (long long)n;
	if (!u->held)
		ss.last_sync = u->r->now;
	snprintf(ss.status, sizeof(ss.status), "%s", u->held ? "held" : "ok");
	rc = store_sys_sync_set(u->r->s, y->name, config_sys_str(u->r->cfg, y->name, "domain"), &ss);
	return rc == STORE_ERR ? -1 : 0;
}

int dirsync_up_prepare(struct ds_run *r, struct ds_sys *y)
{
	size_t g, shrink;

	if (y->l.incremental) {
		merge(r, y); /* no prev yet: the changes only */
		if (ds_incr_prepare(r, y) < 0)
			return -1;
	} else {
		if (store_dacc_load(r->s, y->name, &y->prev, &y->nprev) < 0)
			return -1;
		merge(r, y);
		y->nlast = y->nprev;
	}
	g = gone(y);
	shrink = y->nlast > y->ncur ? y->nlast - y->ncur : 0;
	y->held = !r->o->force && ds_share_over(r, y->l.incremental ? g : shrink, y->nlast);
	return 0;
}

int dirsync_up(struct ds_run *r, struct ds_sys *y)
{
	struct up u = {.r = r, .y = y};
	int rc = -1;

	if (claims(&u) < 0)
		goto out;
	u.held = guard(&u);
	for (size_t i = 0; i < y->nprev; i++)
		if (find(y->cur, y->ncur, y->prev[i].key) == NULL && up_removal(&u, &y->prev[i]) < 0)
			goto out;
	for (size_t i = 0; i < y->ncur; i++)
		if (up_account(&u, &y->cur[i]) < 0)
			goto out;
	if (finish(&u) < 0)
		goto out;
	ds_summary(r, y, 0, u.held ? "held" : "ok");
	rc = 0;
out:
	up_free(&u);
	return rc;
}
