/*
 * decide - what fedmig-policyd answers, as pure functions of the request,
 * the configuration and a directory lookup passed in as a function (the
 * daemon passes the store; unit tests pass a fake).
 *
 * Failure policy (DESIGN.md): when the directory cannot be read the answer
 * is a temporary failure (policy: defer_if_permit; socketmap: TEMP), never
 * a guess. A NOTFOUND for an address that exists would bounce mail as
 * "user unknown"; a TEMP only delays it.
 */
#ifndef FEDMIG_DECIDE_H
#define FEDMIG_DECIDE_H

#include <stddef.h>

#include "addr.h"
#include "policy_proto.h"
#include "store.h"

/*
 * decide_lookup_fn: look ADDR (canonical) up in the directory the way
 * store_dir_lookup() does: STORE_OK with *R filled, STORE_NOTFOUND or
 * STORE_ERR (the reason is the lookup's to log).
 */
typedef int (*decide_lookup_fn)(void *ctx, const char *addr, struct dir_entry *r);

/*
 * decide_rewrite_fn: what virtual_alias_maps answers for ADDR
 * (canonical), the way store_dir_rewrite() does: STORE_OK with the
 * physical address in OUT, STORE_NOTFOUND or STORE_ERR.
 */
typedef int (*decide_rewrite_fn)(void *ctx, const char *addr, char out[ADDR_MAX]);

struct decide_conf {
	const char *const *domains; /* federated_domains, lower case, no trailing dot */
	size_t ndomains;
	int addr_flags;    /* ADDR_FOLD_LOCAL when fold_local_part */
	int unknown_pass;  /* unknown_recipient_action = pass */
	int hold_defer;    /* hold_action = defer */
	const char *map_name; /* socketmap_name */
	const char *delims;   /* recipient_delimiter, "" or NULL: off (see delim.h) */
};

enum decide_kind {
	DECIDE_DUNNO,   /* no opinion: Postfix goes on with its restrictions */
	DECIDE_REJECT,  /* 550 5.1.1: unknown federated recipient */
	DECIDE_DEFER,   /* 450 4.2.0: held recipient, hold_action = defer */
	DECIDE_TEMPFAIL /* the directory is unreadable */
};

#define DECIDE_ACTION_MAX (2 * ADDR_MAX + 160)

struct decision {
	enum decide_kind kind;
	char action[DECIDE_ACTION_MAX]; /* the reply line without "action=" and '\n' */
	char rcpt[ADDR_MAX];            /* canonical recipient, "" when none */
	long long request_id;           /* the holding request for DECIDE_DEFER */
	const char *note;               /* why, for verbose logs (static) */
};

/*
 * decide_policy: the answer to one policy request (ATTRS, N). Only the
 * RCPT state is judged; everything else is DUNNO. A recipient with an
 * address extension (recipient_delimiter) that is not in the directory as
 * a whole is judged as the address without it: alice+tag is held when
 * alice is, unknown when alice is. Reject and defer texts
 * leave out the address: smtpd prefixes "<rcpt>: Recipient address
 * rejected: " to every policy reply it passes on.
 */
void decide_policy(const struct decide_conf *c, const struct policy_attr *attrs, size_t n,
		   decide_lookup_fn lookup, void *ctx, struct decision *d);

enum sockmap_kind { SOCKMAP_OK, SOCKMAP_NOTFOUND, SOCKMAP_TEMP, SOCKMAP_PERM };

/*
 * decide_socketmap: the reply to the socketmap request REQ (LEN bytes,
 * "NAME KEY") written into OUT (OUT_SIZE, at least DECIDE_ACTION_MAX) as
 * the netstring's payload: "OK physical", "NOTFOUND ", "TEMP reason" or
 * "PERM reason". Only keys with a local part and a domain are looked up
 * (Postfix also asks for bare domains and @domain: NOTFOUND). A key with
 * an extension that is not found whole is rewritten as the key without
 * it, the extension put back on the result (alice+tag@example.org gives
 * alice+tag@s1.example.org), as Postfix does for the tables it may split
 * keys for; it never splits them for a socketmap. The
 * physical address is quoted the way Postfix parses table results (RFC
 * 5322). Returns the kind of reply.
 */
enum sockmap_kind decide_socketmap(const struct decide_conf *c, const char *req, size_t len,
				   decide_rewrite_fn rewrite, void *ctx, char *out, size_t out_size);

/*
 * decide_quote_addr: canonical ADDR in external form (local part quoted
 * when it needs to be) into OUT (OUT_SIZE). -1 when it does not fit.
 */
int decide_quote_addr(const char *addr, char *out, size_t out_size);

#endif
