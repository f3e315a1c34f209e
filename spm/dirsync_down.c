/*
 * dirsync_down - downward, one system Y (contract in dirsync.h): wanted,
 * a contact for every directory entry another system owns, but for the
 * addresses Y's own accounts hold; there, the driver's listing. Missing
 * ones are put, renamed ones put again, the others deleted: those whose
 * address left the directory under the shrink guard, those that became
 * Y's own without it (a switch to Y is no mass deletion). What the driver
 * did is recorded (dir_contacts) at the end, in one transaction: a
 * refused contact (DIR_EXISTS) is reported once and not tried again
 * while it stays wanted. A contact whose address two systems claim (a
 * conflict the upward pass recorded) is left as it is while it stands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirsync_int.h"
#include "log.h"
#include "xalloc.h"

struct want {
	char *address, *name;
};

struct down {
	struct ds_run *r;
	struct ds_sys *y;
	char **own; /* Y's own addresses, sorted */
	size_t nown;
	int own_read;	   /* 1: own read; -1: reading it failed */
	struct want *want; /* by address */
	size_t nwant;
	struct dcontact *rec; /* recorded, by address */
	size_t nrec;
	struct dcontact *out; /* records to write (address "": none) */
	size_t nout;
	char **del; /* records to delete */
	size_t ndel;
	int held;
};

/* grow: room for one more element of SIZE in *V holding N (doubling). */
static void *grow(void *v, size_t n, size_t size)
{
	return (n & (n - 1)) == 0 ? xrealloc(v, (n ? n * 2 : 1) * size) : v;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_contact(const void *a, const void *b)
{
	return strcmp(((const struct dir_contact *)a)->address,
		      ((const struct dir_contact *)b)->address);
}

static void own_add(struct down *d, const char *addr, size_t len)
{
	if (len == 0)
		return;
	d->own = grow(d->own, d->nown, sizeof(*d->own));
	d->own[d->nown++] = xstrndup(addr, len);
}

/* own: every address of Y's accounts (as stored by the upward sync). */
static int own(struct down *d)
{
	struct dacc *v;
	size_t n;

	if (store_dacc_load(d->r->s, d->y->name, &v, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		own_add(d, v[i].access, strlen(v[i].access));
		own_add(d, v[i].physical, strlen(v[i].physical));
		for (const char *p = v[i].aliases; *p;) {
			size_t len = strcspn(p, " ");

			own_add(d, p, len);
			p += len;
			p += *p == ' ';
		}
	}
	store_dacc_free(v, n);
	if (d->nown)
		qsort(d->own, d->nown, sizeof(*d->own), cmp_str);
	return 0;
}

/* is_own: 1 if ADDR is one of Y's own addresses, 0 if not, -1 on a store
 * error. Y's accounts are read the first time another system's entry
 * asks (never, when Y owns every entry). */
static int is_own(struct down *d, const char *addr)
{
	if (!d->own_read) {
		d->own_read = 1;
		if (own(d) < 0)
			return -1;
	}
	return d->nown && bsearch(&addr, d->own, d->nown, sizeof(*d->own), cmp_str) != NULL;
}

/* wanted: one directory entry; kept when another system owns it. */
static int wanted(void *ctx, const char *access, const char *system, const char *name)
{
	struct down *d = ctx;
	int rc = 0;

	if (strcmp(system, d->y->name) == 0 || (rc = is_own(d, access)) != 0)
		return rc < 0 ? (d->own_read = -1) : 0; /* -1 stops the walk */
	d->want = grow(d->want, d->nwant, sizeof(*d->want));
	d->want[d->nwant++] = (struct want){xstrdup(access), xstrdup(name)};
	return 0;
}

static const struct dir_contact *current(const struct down *d, const char *addr)
{
	struct dir_contact k = {.address = (char *)addr};

	return d->y->ncontacts ? bsearch(&k, d->y->contacts, d->y->ncontacts, sizeof(k),
					 cmp_contact)
			       : NULL;
}

static const struct dcontact *recorded(const struct down *d, const char *addr)
{
	for (size_t lo = 0, hi = d->nrec; lo < hi;) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(addr, d->rec[mid].address);

		if (c == 0)
			return &d->rec[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int is_wanted(const struct down *d, const char *addr)
{
	for (size_t lo = 0, hi = d->nwant; lo < hi;) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(addr, d->want[mid].address);

		if (c == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* record: write C's record at the end (STATE, REASON). */
static void record(struct down *d, const char *addr, const char *key, const char *name,
		   int state, const char *reason)
{
	d->out = grow(d->out, d->nout, sizeof(*d->out));
	d->out[d->nout++] = (struct dcontact){xstrdup(addr), xstrdup(key), xstrdup(name),
					      xstrdup(reason), state};
}

static void unrecord(struct down *d, const char *addr)
{
	d->del = grow(d->del, d->ndel, sizeof(*d->del));
	d->del[d->ndel++] = xstrdup(addr);
}

/* put: the contact for W (add or change), unless a dry run. */
static void put(struct down *d, const struct want *w, enum ds_action a, const char *detail)
{
	struct dir_contact c = {w->address, w->name, ""};
	const struct dir_contact *cur = current(d, w->address);
	char why[DRV_WHY];
	int rc;

	ds_act(d->r, d->y, 1, a, w->address, "%s", detail);
	if (d->r->o->dry_run)
		return;
	why[0] = '\0';
	rc = dirdrv_contact_put(d->r->cfg, d->y->name, &c, why);
	if (rc == DRV_OK) {
		record(d, w->address, cur ? cur->key : "", w->name, 0, "");
	} else if (rc == DIR_EXISTS) {
		ds_act(d->r, d->y, 1, DS_EXISTS, w->address, "%s; not tried again", why);
		record(d, w->address, "", w->name, 1, why);
	} else {
		ds_act(d->r, d->y, 1, DS_FAILED, w->address, "%s", why);
	}
}

static void want_one(struct down *d, const struct want *w)
{
	const struct dcontact *rec = recorded(d, w->address);
	const struct dir_contact *cur = current(d, w->address);
	char detail[512];

	if (rec && rec->state == 1 && cur == NULL)
		return; /* refused once (DIR_EXISTS): reported then */
	if (cur == NULL) {
		snprintf(detail, sizeof(detail), "name '%.200s'", w->name);
		put(d, w, DS_ADD, detail);
	} else if (strcmp(cur->name, w->name) != 0) {
		snprintf(detail, sizeof(detail), "name '%.200s' -> '%.200s'", cur->name,
			 w->name);
		put(d, w, DS_CHANGE, detail);
	} else if (rec == NULL || rec->state != 0) {
		record(d, w->address, cur->key, w->name, 0, "");
	}
}

/* in_directory: 1 if ADDR is still an entry's address (it moved, rather
 * than left), 0 if not, -1 on a store error. */
static int in_directory(struct down *d, const char *addr)
{
	struct dir_entry e;
	int rc = store_dir_lookup(d->r->s, addr, &e);

	return rc == STORE_ERR ? -1 : rc == STORE_OK;
}

/* guard: 1 if the deletions of contacts whose address left the directory
 * are more than the share allowed (reported), 0 if they go on. */
static int guard(struct down *d)
{
	size_t left = 0, n = d->y->ncontacts;

	for (size_t i = 0; i < n; i++) {
		const char *a = d->y->contacts[i].address;
		int in;

		if (is_wanted(d, a))
			continue;
		if ((in = in_directory(d, a)) < 0)
			return -1;
		left += !in;
	}
	if (!ds_share_over(d->r, left, n))
		return 0;
	if (d->r->o->force) {
		log_warn("directory sync %s down: %zu of %zu contacts deleted (--force)", d->y->name,
			 left, n);
		return 0;
	}
	ds_act(d->r, d->y, 1, DS_HELD, "",
	       "%zu of %zu contacts stand for addresses gone from the directory (limit "
	       "directory_shrink_limit = %lld%%): no deletion; --force applies them",
	       left, n, config_int(d->r->cfg, "directory_shrink_limit"));
	return 1;
}

/* in_conflict: 1 if two systems claim ADDR (dir_conflicts, as this
 * run's upward pass recorded it): its contact is left as it is, reported;
 * 0 if not, -1 on a store error. */
static int in_conflict(struct down *d, const char *addr)
{
	char *systems = NULL;
	int rc = store_dconflict_get(d->r->s, addr, &systems);

	if (rc == STORE_ERR)
		return -1;
	rc = *systems != '\0';
	if (rc)
		ds_act(d->r, d->y, 1, DS_CONFLICT, addr, "claimed by %s: contact left as it is",
		       systems);
	free(systems);
	return rc;
}

/* extra: contact C, not wanted: deleted (or held back by the guard),
 * unless its address is in conflict. */
static int extra(struct down *d, const struct dir_contact *c)
{
	char why[DRV_WHY];
	int in = in_conflict(d, c->address);

	if (in != 0)
		return in < 0 ? -1 : 0;
	if ((in = in_directory(d, c->address)) < 0)
		return -1;
	if (!in && d->held) {
		ds_act(d->r, d->y, 1, DS_HELD, c->address, "gone from the directory: not deleted");
		return 0;
	}
	ds_act(d->r, d->y, 1, DS_REMOVE, c->address, "%s",
	       in ? "lives here now" : "gone from the directory");
	if (d->r->o->dry_run)
		return 0;
	why[0] = '\0';
	if (dirdrv_contact_del(d->r->cfg, d->y->name, c->address, why) == DRV_OK)
		unrecord(d, c->address);
	else
		ds_act(d->r, d->y, 1, DS_FAILED, c->address, "%s", why);
	return 0;
}

/* write_records: the records, in one transaction (or the run's, in a
 * dry run). */
static int write_records(struct down *d)
{
	return store_dcontact_apply(d->r->s, d->y->name, d->out, d->nout,
				    (const char *const *)d->del, d->ndel, d->r->now) == STORE_ERR
		       ? -1
		       : 0;
}

static void down_free(struct down *d)
{
	for (size_t i = 0; i < d->nown; i++)
		free(d->own[i]);
	free(d->own);
	for (size_t i = 0; i < d->nwant; i++) {
		free(d->want[i].address);
		free(d->want[i].name);
	}
	free(d->want);
	store_dcontact_free(d->rec, d->nrec);
	store_dcontact_free(d->out, d->nout);
	for (size_t i = 0; i < d->ndel; i++)
		free(d->del[i]);
	free(d->del);
}

/* stale: records of addresses neither wanted nor listed go. */
static void stale(struct down *d)
{
	for (size_t i = 0; i < d->nrec; i++)
		if (!is_wanted(d, d->rec[i].address) && current(d, d->rec[i].address) == NULL)
			unrecord(d, d->rec[i].address);
}

int dirsync_down(struct ds_run *r, struct ds_sys *y)
{
	struct down d = {.r = r, .y = y};
	int rc = -1;

	if (y->ncontacts)
		qsort(y->contacts, y->ncontacts, sizeof(*y->contacts), cmp_contact);
	if (store_dir_each_named(r->s, wanted, &d) < 0 || d.own_read < 0 ||
	    store_dcontact_load(r->s, y->name, &d.rec, &d.nrec) < 0)
		goto out;
	if ((d.held = guard(&d)) < 0)
		goto out;
	for (size_t i = 0; i < d.nwant; i++)
		want_one(&d, &d.want[i]);
	for (size_t i = 0; i < y->ncontacts; i++)
		if (!is_wanted(&d, y->contacts[i].address) && extra(&d, &y->contacts[i]) < 0)
			goto out;
	stale(&d);
	if (write_records(&d) < 0)
		goto out;
	ds_summary(r, y, 1, d.held ? "held" : "ok");
	rc = 0;
out:
	down_free(&d);
	return rc;
}
