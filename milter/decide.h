/*
 * decide - the milter's decision: may this message go on, or must it wait
 * in Postfix's hold queue? (DESIGN.md "The switch, exactly", rules 1 and 4.)
 *
 * A recipient holds the message when its directory entry is held (the
 * switch of its mailbox is under way), or when the entry was switched
 * after the transaction's MAIL FROM: Postfix's cleanup rewrote that
 * recipient through virtual_alias_maps at RCPT time, before the switch,
 * and recorded the old physical address for good. Recipients not in the
 * directory never hold anything. A recipient with an address extension
 * (recipient_delimiter) counts as its mailbox: alice+tag@example.org and
 * alice+tag@s1.example.org wait while alice switches, because the
 * socketmap rewrites them along with alice.
 *
 * Failure policy: every answer comes from the database at the moment of
 * the question (no cache: a switch must be seen at once). When it cannot
 * be read the caller tempfails; it never guesses.
 */
#ifndef FEDMIG_MILTER_DECIDE_H
#define FEDMIG_MILTER_DECIDE_H

#include <stddef.h>
#include <sys/types.h>

#include "store.h"

enum hold_reason { HOLD_NONE, HOLD_HELD, HOLD_SWITCHED };

struct rcpt {
	char *addr; /* canonical form (addr_normalize) */
	enum hold_reason reason;
	long long request_id; /* of the directory entry when it holds */
};

/*
 * decide_check: look up each of the N recipients in S (whole, then
 * without its extension when DELIMS, the recipient_delimiter, splits
 * one off; NULL or "": whole only) and set its reason and request_id. Returns the number of recipients that hold the message,
 * or -1 when the store failed (store_errmsg(S) says why; the reasons are
 * then undefined).
 */
int decide_check(struct store *s, const char *delims, struct rcpt *rcpts, size_t n,
		 long long mail_us);

/* decide_reason_name: "held", "switched" or "none". */
const char *decide_reason_name(enum hold_reason r);

/*
 * decide_join: the canonical recipients separated by single tabs, in a
 * malloc()ed string the caller frees; NULL when out of memory (milter
 * callbacks must not abort). A tab, not a space: a canonical address may
 * hold a space ("john doe"@x is john doe@x) but never a control character.
 */
char *decide_join(const struct rcpt *rcpts, size_t n);

/*
 * decide_queue_id_ok: 1 if QID is a Postfix queue ID (qid.h: short or
 * long form). The ID goes into logs and the database, and fedmig-spm
 * hands it to postsuper.
 */
int decide_queue_id_ok(const char *qid);

/*
 * A pool of store handles shared by the milter's threads. A handle is used
 * by one thread at a time; the pool opens one more when all are busy, and
 * keeps them for reuse (an open costs a schema check and a lock).
 *
 * pool_get() hands out a handle for PATH, opened read-write (the milter
 * records held queue IDs). It never creates the database: a missing or
 * empty file is an error (a fresh empty directory would let every message
 * through unchecked). A handle whose file was replaced or removed since it
 * was opened (another inode at PATH) is closed rather than reused, so a
 * removed or restored database is noticed at the next message. NULL on
 * error, with the reason in ERR (ERRSIZE bytes).
 * pool_put() gives the handle back; BROKEN closes it instead (after a
 * store error, the next message opens a fresh one).
 */
struct store_pool;
struct pool_handle;

struct store_pool *pool_new(const char *path, const char *password_file, int busy_ms);
void pool_free(struct store_pool **pool);
struct pool_handle *pool_get(struct store_pool *pool, char *err, size_t errsize);
struct store *pool_store(struct pool_handle *h);
void pool_put(struct store_pool *pool, struct pool_handle *h, int broken);

#endif
