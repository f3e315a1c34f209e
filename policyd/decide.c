#include <stdio.h>
#include <string.h>

#include "decide.h"
#include "delim.h"

static const char *attr(const struct policy_attr *attrs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(attrs[i].name, name) == 0)
			return attrs[i].value;
	return NULL;
}

static int federated(const struct decide_conf *c, const char *domain)
{
	for (size_t i = 0; i < c->ndomains; i++)
		if (strcmp(c->domains[i], domain) == 0)
			return 1;
	return 0;
}

static void dunno(struct decision *d, const char *note)
{
	d->kind = DECIDE_DUNNO;
	snprintf(d->action, sizeof(d->action), "DUNNO");
	d->note = note;
}

static void tempfail(struct decision *d)
{
	d->kind = DECIDE_TEMPFAIL;
	snprintf(d->action, sizeof(d->action),
		 "defer_if_permit Service temporarily unavailable (directory unreadable)");
	d->note = "directory unreadable";
}

/* held: the answer for a held recipient, per hold_action. */
static void held(const struct decide_conf *c, const struct dir_entry *e, struct decision *d)
{
	d->request_id = e->request_id;
	if (!c->hold_defer) {
		/* The milter quarantines the whole message at end of DATA. */
		dunno(d, "held, left to the milter");
		return;
	}
	d->kind = DECIDE_DEFER;
	/* smtpd prefixes "<rcpt>: Recipient address rejected: " itself. */
	snprintf(d->action, sizeof(d->action),
		 "450 4.2.0 Migration in progress, try again in a few seconds");
	d->note = "held";
}

void decide_policy(const struct decide_conf *c, const struct policy_attr *attrs, size_t n,
		   decide_lookup_fn lookup, void *ctx, struct decision *d)
{
	const char *state = attr(attrs, n, "protocol_state");
	const char *rcpt = attr(attrs, n, "recipient");
	const char *why;
	char base[ADDR_MAX];
	struct dir_entry e;
	int rc, fed;

	memset(d, 0, sizeof(*d));
	if (state == NULL || strcmp(state, "RCPT") != 0) {
		dunno(d, "not the RCPT state");
		return;
	}
	if (rcpt == NULL || *rcpt == '\0') {
		dunno(d, "no recipient");
		return;
	}
	/* Postfix checked the syntax before asking: an address fedmig cannot
	 * read is not one the directory can hold, so it is not ours to judge.
	 * recipient= is Postfix's internal form (unquoted local part). */
	if (addr_normalize(rcpt, strlen(rcpt), c->addr_flags | ADDR_INTERNAL, d->rcpt, &why) < 0) {
		d->rcpt[0] = '\0';
		dunno(d, why);
		return;
	}
	fed = federated(c, addr_domain(d->rcpt));
	/* Outside the federated domains only a held physical address matters,
	 * and only when hold_action = defer: spare the store otherwise. */
	if (!fed && !c->hold_defer) {
		dunno(d, "not a federated domain");
		return;
	}
	rc = lookup(ctx, d->rcpt, &e);
	/* The whole address first (a mailbox may be called alice+sales),
	 * then without its extension, as Postfix's own tables do. */
	if (rc == STORE_NOTFOUND && delim_split(d->rcpt, c->delims, base, NULL))
		rc = lookup(ctx, base, &e);
	if (rc == STORE_ERR) {
		tempfail(d);
	} else if (rc == STORE_NOTFOUND) {
		if (!fed) {
			dunno(d, "not a federated domain");
		} else if (c->unknown_pass) {
			dunno(d, "unknown, unknown_recipient_action = pass");
		} else {
			d->kind = DECIDE_REJECT;
			snprintf(d->action, sizeof(d->action), "550 5.1.1 User unknown");
			d->note = "unknown";
		}
	} else if (!fed && e.match != DIR_PHYSICAL && e.match != DIR_FORMER) {
		dunno(d, "not a federated domain");
	} else if (e.held) {
		held(c, &e, d);
	} else {
		dunno(d, "known");
	}
}

/* atext (RFC 5322) plus 8-bit bytes, which SMTPUTF8 local parts carry. */
static int atext(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch >= 0x80 || strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL;
}

static int needs_quotes(const char *local, size_t n)
{
	if (n == 0 || local[0] == '.' || local[n - 1] == '.')
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)local[i];

		if (ch == '.' ? local[i + 1] == '.' : !atext(ch))
			return 1;
	}
	return 0;
}

int decide_quote_addr(const char *addr, char *out, size_t out_size)
{
	const char *at = strrchr(addr, '@');
	size_t n = at ? (size_t)(at - addr) : strlen(addr), o = 0;

	if (!needs_quotes(addr, n)) {
		if (strlen(addr) >= out_size)
			return -1;
		strcpy(out, addr);
		return 0;
	}
	if (o + 1 >= out_size)
		return -1;
	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (o + 2 >= out_size)
			return -1;
		if (addr[i] == '"' || addr[i] == '\\')
			out[o++] = '\\';
		out[o++] = addr[i];
	}
	if (o + 2 + (at ? strlen(at) : 0) > out_size)
		return -1;
	out[o++] = '"';
	strcpy(out + o, at ? at : "");
	return 0;
}

enum sockmap_kind decide_socketmap(const struct decide_conf *c, const char *req, size_t len,
				   decide_rewrite_fn rewrite, void *ctx, char *out, size_t out_size)
{
	const char *sp = memchr(req, ' ', len), *key, *at, *why;
	size_t namelen, keylen, ext;
	char canon[ADDR_MAX], base[ADDR_MAX], phys[ADDR_MAX];
	char extended[DELIM_EXTENDED_MAX], quoted[2 * DELIM_EXTENDED_MAX + 2];
	int rc;

	if (sp == NULL) {
		snprintf(out, out_size, "PERM malformed request");
		return SOCKMAP_PERM;
	}
	namelen = (size_t)(sp - req);
	if (namelen != strlen(c->map_name) || memcmp(req, c->map_name, namelen) != 0) {
		snprintf(out, out_size, "PERM unknown map");
		return SOCKMAP_PERM;
	}
	key = sp + 1;
	keylen = len - namelen - 1;
	at = keylen ? memrchr(key, '@', keylen) : NULL;
	/* Bare domains, "@domain" and bare local parts name no mailbox. */
	if (at == NULL || at == key || at == key + keylen - 1 ||
	    addr_normalize(key, keylen, c->addr_flags | ADDR_INTERNAL, canon, &why) < 0) {
		snprintf(out, out_size, "NOTFOUND ");
		return SOCKMAP_NOTFOUND;
	}
	rc = rewrite(ctx, canon, phys);
	/* Postfix sends a socketmap the whole address and never retries it
	 * without the extension: NOTFOUND here would bounce alice+tag as
	 * "User unknown in virtual alias table". */
	if (rc == STORE_NOTFOUND && delim_split(canon, c->delims, base, &ext)) {
		rc = rewrite(ctx, base, phys);
		/* Keep the extension, as Postfix's propagate_unmatched_extensions
		 * does by default: S1 or S2 may file alice+tag's mail by it. */
		if (rc == STORE_OK && delim_extend(phys, canon, ext, extended, sizeof(extended)) < 0)
			rc = STORE_ERR;
	} else if (rc == STORE_OK) {
		snprintf(extended, sizeof(extended), "%s", phys);
	}
	switch (rc) {
	case STORE_OK:
		if (decide_quote_addr(extended, quoted, sizeof(quoted)) < 0 ||
		    (size_t)snprintf(out, out_size, "OK %s", quoted) >= out_size)
			break;
		return SOCKMAP_OK;
	case STORE_NOTFOUND:
		snprintf(out, out_size, "NOTFOUND ");
		return SOCKMAP_NOTFOUND;
	default:
		break;
	}
	snprintf(out, out_size, "TEMP directory unreadable");
	return SOCKMAP_TEMP;
}
