#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy_int.h"
#include "log.h"
#include "xalloc.h"

int cperr(struct cp *cp, const char *fmt, ...)
{
	va_list ap;

	if (cp->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(cp->err, sizeof(cp->err), fmt, ap);
		va_end(ap);
	}
	return -1;
}

void cp_diff(struct cp *cp, const char *fmt, ...)
{
	char line[300];
	va_list ap;
	size_t len = strlen(cp->r->reason);

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_error("%s: verify %s", cp->o->mailbox_key, line);
	if (len + strlen(line) + 2 < sizeof(cp->r->reason))
		snprintf(cp->r->reason + len, sizeof(cp->r->reason) - len, "%s%s", len ? "\n" : "",
			 line);
	cp->ndiffs++;
}

/* ------------------------------------------------------------ helpers */

void free_folders(struct folder *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].name);
		free(f[i].dst);
	}
	free(f);
}

void free_msgs(struct cp *cp)
{
	for (size_t i = 0; i < cp->nmsgs; i++) {
		free(cp->msgs[i].flags);
		free(cp->msgs[i].base);
	}
	free(cp->msgs);
	cp->msgs = NULL;
	cp->nmsgs = 0;
	for (size_t i = 0; i < cp->nvanished; i++)
		free(cp->vanished[i].base);
	free(cp->vanished);
	cp->vanished = NULL;
	cp->nvanished = 0;
}

int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/*
 * uidsets: split sorted UIDS into "a:b,c" sets of at most UIDSET_MAX
 * characters; returns how many, *sets_r to free with free_sets.
 */
size_t uidsets(unsigned long long *uids, size_t n, char ***sets_r)
{
	char **sets = NULL;
	size_t nsets = 0, i = 0;

	if (n > 1) /* uids may be NULL when there are none */
		qsort(uids, n, sizeof(*uids), cmp_ull);
	while (i < n) {
		char *buf = xmalloc(UIDSET_MAX + 64);
		size_t len = 0;

		while (i < n && len < UIDSET_MAX) {
			size_t j = i;

			while (j + 1 < n && (uids[j + 1] == uids[j] + 1 || uids[j + 1] == uids[j]))
				j++;
			if (j == i)
				len += (size_t)sprintf(buf + len, "%s%llu", len ? "," : "", uids[i]);
			else
				len += (size_t)sprintf(buf + len, "%s%llu:%llu", len ? "," : "", uids[i],
						       uids[j]);
			i = j + 1;
		}
		sets = xrealloc(sets, (nsets + 1) * sizeof(*sets));
		sets[nsets++] = buf;
	}
	*sets_r = sets;
	return nsets;
}

void free_sets(char **sets, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(sets[i]);
	free(sets);
}

int journal_commit(struct cp *cp, int ok)
{
	struct store *s = cp->o->store;

	if (ok && store_commit(s) == 0)
		return 0;
	cperr(cp, "journal: %s", store_errmsg(s));
	store_rollback(s);
	return -1;
}

int drv_fail(struct cp *cp, struct drv *d)
{
	return cperr(cp, "%s", d->ops->error(d));
}

void close_src(struct cp *cp)
{
	if (cp->sdrv)
		cp->sdrv->ops->free(cp->sdrv);
	cp->sdrv = NULL;
}

void hex(const unsigned char *sha, char out[65])
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", sha[i]);
}

void scan_add(struct scan_ctx *s, const struct drv_meta *m)
{
	s->m = xrealloc(s->m, (s->n + 1) * sizeof(*s->m));
	struct dst_msg *d = &s->m[s->n++];

	memset(d, 0, sizeof(*d));
	d->uid = m->uid;
	d->size = m->size;
	if (m->flags)
		d->flags = xstrndup(m->flags, m->flags_len);
	if (m->date)
		snprintf(d->date, sizeof(d->date), "%s", m->date);
}

void scan_free(struct scan_ctx *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->m[i].flags);
	free(s->m);
	s->m = NULL;
	s->n = 0;
}

int drv_err(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(err, size, fmt, ap);
		va_end(ap);
	}
	return -1;
}
