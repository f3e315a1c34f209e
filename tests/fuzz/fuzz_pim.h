/*
 * fuzz_pim - one contact or calendar object through pim_hash, pim_uid,
 * pim_item_make and pim_diff_props; what pim_item_make writes must parse
 * again, hash as it says, give the same UID and differ from itself in
 * nothing (a finding traps). Header-only: each fuzz
 * target stays a single file.
 */
#ifndef FEDMIG_FUZZ_PIM_H
#define FEDMIG_FUZZ_PIM_H

#include <stdlib.h>
#include <string.h>

#include "pim_item.h"

static inline void fuzz_pim(enum pim_kind k, const struct pim_target *t, const char *d, size_t n)
{
	struct pim_item it;
	unsigned char h[32];
	char *err = NULL, *uid;

	(void)pim_hash(k, d, n, h);
	free(pim_uid(k, d, n));
	if (pim_item_make(k, d, n, t, &it, &err) != 0) {
		free(err);
		return;
	}
	if (pim_hash(k, it.text, it.len, h) != 0 || memcmp(h, it.hash, 32) != 0)
		abort(); /* what we write must read back the same */
	uid = pim_uid(k, it.text, it.len);
	if (!uid || strcmp(uid, it.uid) != 0)
		abort();
	free(uid);
	/* what differs between the input (as a server's read-back) and what we
	 * write; written against itself, nothing */
	free(pim_diff_props(it.text, it.len, d, n));
	uid = pim_diff_props(it.text, it.len, it.text, it.len);
	if (!uid || *uid)
		abort();
	free(uid);
	pim_item_free(&it);
}

#endif
