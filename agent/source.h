/*
 * source - where a migrator reads a mailbox: a local Maildir++
 * (src_maildir.c) or the local IMAP server (src_imap.c). Read only:
 * neither ever writes to the source.
 *
 * Contract: every call returns 0, or -1 with *err_r (caller frees).
 * test() tells whether the mailbox can be read now; on failure it says
 * whether that is permanent (the login is refused, the Maildir does not
 * exist) in *permanent_r. list() gives every folder and subscription
 * through FOLDER (driver.h's struct drv_folder, as drv_imap reports
 * them). items() gives the messages of FOLDER after CURSOR ("" from the
 * start), in the source's stable order, at most MAX_ITEMS and about
 * MAX_BYTES (a larger single message comes alone): each as begin() with
 * its key, flags and INTERNALDATE, its bytes (as IMAP presents them:
 * CRLF line ends) through data(), then end(). *cursor_r (caller frees)
 * is the cursor after the last one given, *more_r 1 when some are left.
 * A callback returning -1 stops items(), which then returns -1 with
 * *err_r NULL.
 */
#ifndef FEDMIG_AGENT_SOURCE_H
#define FEDMIG_AGENT_SOURCE_H

#include <stddef.h>

#include "config.h"
#include "driver.h"

struct src_emit {
	void *ctx;
	int (*begin)(void *ctx, const char *key, const char *flags, const char *date);
	int (*data)(void *ctx, const char *d, size_t n);
	int (*end)(void *ctx);
};

struct source;

struct source_ops {
	int (*test)(struct source *s, int *permanent_r, char **err_r);
	int (*list)(struct source *s, int (*folder)(void *ctx, const struct drv_folder *f),
		    void *ctx, char **err_r);
	int (*items)(struct source *s, const char *folder, const char *cursor, long long max_items,
		     long long max_bytes, const struct src_emit *emit, char **cursor_r, int *more_r,
		     char **err_r);
	void (*free)(struct source *s);
};

struct source {
	const struct source_ops *ops;
};

/*
 * source_open: MAILBOX of SYSTEM: NAME_maildir when set (%u, %d, %a
 * replaced by the mailbox's local part, domain, address), else IMAP
 * with NAME_imap and NAME_credentials.
 */
struct source *source_open(const struct config *cfg, const char *system, const char *mailbox,
			   char **err_r);
/* source_maildir_path: the Maildir of MAILBOX by TEMPLATE (caller frees), or NULL. */
char *source_maildir_path(const char *tmpl, const char *mailbox, char **err_r);
/* source_health: 0 when SYSTEM's local store answers, else -1 with *err_r. */
int source_health(const struct config *cfg, const char *system, char **err_r);

struct source *src_maildir_new(const char *root);
struct source *src_imap_new(const struct config *cfg, const char *system, const char *mailbox,
			    char **err_r);

#endif
