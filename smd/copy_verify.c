#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "copy_journal.h"
#include "copy_verify.h"
#include "log.h"
#include "xalloc.h"

/* ------------------------------------------------------------ read-back */

/* The read-back's callbacks: each body hashed into cp->rb. */
static int rb_body(void *ctx, const struct drv_body *b)
{
	struct cp *cp = ctx;

	EVP_DigestInit_ex(cp->vmd, EVP_sha256(), NULL);
	cp->rb_streaming = 1;
	cp->rb_size = b->size;
	return 0;
}

static int rb_data(void *ctx, const char *d, size_t n, int end)
{
	struct cp *cp = ctx;

	(void)end;
	EVP_DigestUpdate(cp->vmd, d, n);
	return 0;
}

static int rb_meta(void *ctx, const struct drv_meta *m)
{
	struct cp *cp = ctx;

	if (!cp->rb_streaming || m->uid == 0)
		return cperr(cp, "FETCH response without UID or body from the target (seq %llu)",
			     m->seq);
	cp->rb_streaming = 0;
	if (cp->nrb == cp->rb_cap) {
		cp->rb_cap = cp->rb_cap ? 2 * cp->rb_cap : 64;
		cp->rb = xrealloc(cp->rb, cp->rb_cap * sizeof(*cp->rb));
	}
	struct rb *b = &cp->rb[cp->nrb++];

	b->uid = m->uid;
	b->size = cp->rb_size;
	b->flags = m->flags ? xstrndup(m->flags, m->flags_len) : NULL;
	snprintf(b->date, sizeof(b->date), "%s", m->date ? m->date : "");
	EVP_DigestFinal_ex(cp->vmd, b->sha, NULL);
	return 0;
}

static void rb_cmd(struct cp *cp, const char *set)
{
	struct drv_cb cb = {.ctx = cp, .meta = rb_meta, .body = rb_body, .data = rb_data};
	unsigned what = DRV_FETCH_BODY | DRV_FETCH_FLAGS | DRV_FETCH_DATE;

	cp->rb_tags = xrealloc(cp->rb_tags, (cp->nrb_tags + 1) * sizeof(*cp->rb_tags));
	cp->rb_tags[cp->nrb_tags++] = cp->ddrv->ops->fetch(cp->ddrv, set, what, &cb);
}

/*
 * readback_start: queue the read-back of what this run put in the
 * folder, by the UIDs the target gave (APPENDUID, or found by hash).
 * It is sent once every APPEND is acknowledged, not straight behind the
 * last one: Dovecot delays the sync of a pipelined command's view, and a
 * FETCH queued behind an APPEND may not see the appended messages yet.
 */
void readback_start(struct cp *cp)
{
	unsigned long long *uids = xmalloc((cp->nmsgs + 1) * sizeof(*uids));
	size_t n = 0;
	char **sets;

	for (size_t i = 0; i < cp->nmsgs; i++)
		if (cp->msgs[i].state == MSG_COPIED || cp->msgs[i].state == MSG_FOUND)
			uids[n++] = cp->msgs[i].dst_uid;
	size_t ns = n ? uidsets(uids, n, &sets) : 0;

	for (size_t i = 0; i < ns; i++)
		rb_cmd(cp, sets[i]);
	if (ns)
		free_sets(sets, ns);
	free(uids);
}

void rb_clear(struct cp *cp)
{
	for (size_t i = 0; i < cp->nrb; i++)
		free(cp->rb[i].flags);
	cp->nrb = 0;
}

int readback_finish(struct cp *cp)
{
	int r = 0;

	for (size_t i = 0; i < cp->nrb_tags && r == 0; i++) {
		struct drv_result res;

		if (cp->rb_tags[i] == 0 || cp->ddrv->ops->wait(cp->ddrv, cp->rb_tags[i], &res) < 0)
			r = cp->err[0] ? -1 : drv_fail(cp, cp->ddrv);
		else if (res.status != DRV_OK)
			r = cperr(cp, "UID FETCH in %s (read-back): %s", cp->f->dst, res.text);
	}
	cp->nrb_tags = 0;
	return r < 0 || cp->err[0] ? -1 : 0;
}

/* ------------------------------------------------------------ verify */

static int cmp_rb(const void *a, const void *b)
{
	const struct rb *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static struct rb *rb_find(struct cp *cp, unsigned long long uid)
{
	struct rb key = {.uid = uid};

	return cp->nrb ? bsearch(&key, cp->rb, cp->nrb, sizeof(*cp->rb), cmp_rb) : NULL;
}

/*
 * check_meta: M's flags, keywords and INTERNALDATE against what the target
 * shows (FLAGS NULL: it sent none). A keyword the target refused
 * (PERMANENTFLAGS) or dropped is a difference like a changed body: the
 * copy is not what the user had.
 */
static void check_meta(struct cp *cp, const struct msg *m, const char *flags, const char *date)
{
	char missing[160], extra[160];
	long long ts, td;
	int n;

	if (flags == NULL)
		cp_diff(cp, "folder=%s uid=%llu target_uid=%llu the target sent no FLAGS",
			 cp->f->name, m->uid, m->dst_uid);
	else if ((n = imap_flags_diff(m->flags, strlen(m->flags), flags, strlen(flags), missing,
				      extra, sizeof(missing))) > 0)
		cp_diff(cp, "folder=%s uid=%llu target_uid=%llu flags differ (%d): missing on the "
			     "target: %s; extra on the target: %s",
			 cp->f->name, m->uid, m->dst_uid, n, missing[0] ? missing : "none",
			 extra[0] ? extra : "none");
	if (imap_date_parse(m->date, &ts) < 0 || imap_date_parse(date, &td) < 0 || ts != td)
		cp_diff(cp, "folder=%s uid=%llu target_uid=%llu internaldate \"%s\" != \"%s\"",
			 cp->f->name, m->uid, m->dst_uid, m->date, date);
}

/*
 * verify: every source message is journalled and present on the target;
 * the ones copied in this run were read back from the target and their
 * SHA-256 and size must equal those computed while streaming them from
 * the source; every one's flags and INTERNALDATE must equal the source's.
 */
int verify(struct cp *cp, struct scan_ctx *after)
{
	size_t ndiff0 = cp->ndiffs;

	if (cp->nrb)
		qsort(cp->rb, cp->nrb, sizeof(*cp->rb), cmp_rb);
	for (size_t i = 0; i < cp->nmsgs; i++) {
		struct msg *m = &cp->msgs[i];

		if (m->state == MSG_GONE)
			continue; /* the user deleted it on the target (copy_delta.h) */
		if (m->state == MSG_TO_COPY) {
			cp_diff(cp, "folder=%s uid=%llu not copied", cp->f->name, m->uid);
			continue;
		}
		if (m->state == MSG_COPIED || m->state == MSG_FOUND) {
			struct rb *b = rb_find(cp, m->dst_uid);

			if (b == NULL) {
				m->unread = 1;
				cp_diff(cp, "folder=%s uid=%llu target_uid=%llu not read back",
					 cp->f->name, m->uid, m->dst_uid);
				continue;
			}
			if (memcmp(m->sha, b->sha, 32) != 0 || m->size != b->size) {
				char x[65], y[65];

				hex(m->sha, x);
				hex(b->sha, y);
				cp_diff(cp, "folder=%s uid=%llu target_uid=%llu sha256 %s != %s",
					 cp->f->name, m->uid, m->dst_uid, x, y);
			}
			check_meta(cp, m, b->flags, b->date);
			continue;
		}
		struct dst_msg *d = scan_find(after, m->dst_uid);

		if (d == NULL) {
			cp_diff(cp, "folder=%s uid=%llu target_uid=%llu missing on the target",
				 cp->f->name, m->uid, m->dst_uid);
			continue;
		}
		if (d->size != m->size)
			cp_diff(cp, "folder=%s uid=%llu target_uid=%llu size %llu != %llu",
				 cp->f->name, m->uid, m->dst_uid, m->size, d->size);
		check_meta(cp, m, d->flags, d->date);
	}
	return cp->ndiffs == ndiff0 ? 0 : 1;
}
