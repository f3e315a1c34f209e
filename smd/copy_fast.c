#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy_fast.h"
#include "delta.h"
#include "drv_imap.h"
#include "log.h"
#include "timeutil.h"
#include "xalloc.h"

/* mark_one: F's journal marks in M (zero when the fast path may not skip it). */
static int mark_one(struct cp *cp, const struct folder *f, struct delta_mark *m,
		    struct smd_folder *jf)
{
	int jr = store_smd_folder_get(cp->o->store, cp->o->mailbox_key, f->name, jf);

	memset(m, 0, sizeof(*m));
	m->folder = f->name;
	if (jr < 0)
		return cperr(cp, "journal: %s", store_errmsg(cp->o->store));
	if (jr == STORE_OK && jf->verified && jf->highestmodseq > 0 &&
	    strcmp(jf->dst_name, f->dst) == 0) {
		m->uidvalidity = jf->uidvalidity;
		m->highestmodseq = jf->highestmodseq;
	}
	return 0;
}

/* skip_one: F is unchanged since its last verified pass (JF): count it. */
static void skip_one(struct cp *cp, const struct folder *f, const struct smd_folder *jf)
{
	struct copy_result *r = cp->r;

	r->folders++;
	r->verified++;
	r->messages += jf->messages;
	r->bytes += jf->bytes;
	r->skipped += jf->messages;
	log_info("%s: folder=%s target=%s messages=%lld bytes=%lld unchanged highestmodseq=%llu "
		 "round_trips=0 verified=yes",
		 cp->o->mailbox_key, f->name, f->dst, jf->messages, jf->bytes, jf->highestmodseq);
	if (cp->o->summary)
		fprintf(cp->o->summary,
			"folder=%s target=%s messages=%lld bytes=%lld done=%lld copied=0 found=0 "
			"skipped=%lld verified=yes unchanged=yes\n",
			f->name, f->dst, jf->messages, jf->bytes, jf->messages, jf->messages);
}

int fast_skip(struct cp *cp, long long *msgs, long long *bytes)
{
	struct imap_conn *c = drv_imap_borrow(cp->sdrv);
	long long t0 = time_mono_us();
	unsigned rt = 0;
	char *err = NULL;
	size_t kept = 0, n = cp->nsel;

	*msgs = *bytes = 0;
	if (c == NULL || !(imap_caps(c) & IMAP_CAP_CONDSTORE) || n == 0)
		return 0;
	struct delta_mark *m = xcalloc(n, sizeof(*m));
	struct smd_folder *jf = xcalloc(n, sizeof(*jf));
	int rc = -1;

	for (size_t i = 0; i < n; i++)
		if (mark_one(cp, &cp->folders[cp->sel[i]], &m[i], &jf[i]) < 0)
			goto out;
	if (delta_moved(c, m, n, &rt, &err) < 0) {
		cperr(cp, "source: %s", err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct folder *f = &cp->folders[cp->sel[i]];

		f->st_uidvalidity = m[i].now_uidvalidity;
		f->st_highestmodseq = m[i].now_highestmodseq;
		if (m[i].moved) {
			cp->sel[kept++] = cp->sel[i];
			continue;
		}
		skip_one(cp, f, &jf[i]);
		*msgs += jf[i].messages;
		*bytes += jf[i].bytes;
	}
	log_info("%s: condstore folders=%zu unchanged=%zu to_pass=%zu round_trips=%u ms=%lld",
		 cp->o->mailbox_key, n, n - kept, kept, rt, (time_mono_us() - t0) / 1000);
	if (cp->o->summary)
		fprintf(cp->o->summary, "condstore folders=%zu unchanged=%zu round_trips=%u\n", n,
			n - kept, rt);
	cp->nsel = kept;
	rc = 0;
out:
	free(err);
	free(m);
	free(jf);
	return rc;
}
