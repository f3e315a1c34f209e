/*
 * dirstore - fedmig-policyd's handle on the directory: the store, reopened
 * when it breaks (removed, replaced, truncated, corrupt, made
 * unreadable).
 *
 * Contract: dirstore_get() returns the store for a request now, or NULL
 * while it cannot be opened (the caller answers a temporary failure); a
 * store that failed a lookup (dirstore_failed()) is reopened by the next
 * dirstore_get(), at most every REOPEN_MIN_S. dirstore_check() is the
 * once-a-second look at the path itself (an open SQLite handle keeps
 * reading a file deleted or replaced); a postgresql:// PATH has no file
 * to look at. dirstore_reopen() closes and opens
 * it at once (SIGHUP). Warnings are logged at most once a second, or once
 * per distinct open error. PATH is borrowed and must outlive DS.
 */
#ifndef FEDMIG_POLICYD_DIRSTORE_H
#define FEDMIG_POLICYD_DIRSTORE_H

#include <sys/types.h>

#include "store.h"

struct dirstore {
	struct store *store;
	const char *path;
	const char *password_file; /* a postgresql:// PATH's (NULL: none) */
	int busy_ms;
	dev_t dev;
	ino_t ino;
	int suspect; /* a lookup failed: reopen before the next */
	char *last_open_err;
	double last_err_log, last_drop_log, last_open_try;
};

void dirstore_init(struct dirstore *ds, const char *path, int busy_ms);
struct store *dirstore_get(struct dirstore *ds, double now);
void dirstore_failed(struct dirstore *ds, double now);
void dirstore_check(struct dirstore *ds, double now);
void dirstore_reopen(struct dirstore *ds);
void dirstore_close(struct dirstore *ds);

#endif
