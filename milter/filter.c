#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "addr.h"
#include "decide.h"
#include "filter.h"
#include "log.h"
#include "store_fe.h"
#include "timeutil.h"
#include "xalloc.h"
#include "txn.h"

struct msg {
	struct txn txn; /* in the open-transaction registry from MAIL FROM on */
	int failed;     /* a step ran out of memory: tempfail at end of message */
	struct rcpt *rcpts;
	size_t nrcpts, cap;
};

struct conn {
	struct msg *msg;
	unsigned long noreply; /* the SMFIP_NR_* steps the MTA agreed to */
	int lost_msg;          /* MAIL FROM could not allocate its context */
	/*
	 * When Postfix last waited for our reply (negotiation, end of
	 * message). MAIL and RCPT are no-reply steps, so this thread may
	 * see MAIL FROM only after cleanup has already rewritten the
	 * recipients; nothing of the next transaction can be earlier than
	 * this, so it, not our own clock at MAIL FROM, starts it (rule 4).
	 */
	long long sync_us;
};

static struct store_pool *pool;
static int fold_flags;
static char *delims; /* recipient_delimiter */
static char *frontend; /* frontend_name: whose queue holds what we quarantine */
static int verbose;

/* The steps fedmig never looks at: Postfix skips them, and so do we. */
#define UNUSED_STEPS                                                                      \
	(SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOBODY |       \
	 SMFIP_NOUNKNOWN | SMFIP_NODATA)
#define NOREPLY_STEPS (SMFIP_NR_MAIL | SMFIP_NR_RCPT)

void filter_init(const struct config *cfg, int v)
{
	pool = pool_new(config_str(cfg, "state_database"),
			config_str(cfg, "state_database_password_file"),
			(int)config_time_ms(cfg, "store_busy_timeout"));
	/* Postfix passes RCPT TO as the client wrote it, and a held recipient
	 * must not slip through because its client was sloppy: read leniently. */
	fold_flags = (config_bool(cfg, "fold_local_part") ? ADDR_FOLD_LOCAL : 0) | ADDR_INTERNAL;
	delims = xstrdup(config_str(cfg, "recipient_delimiter"));
	frontend = xstrdup(config_str(cfg, "frontend_name"));
	verbose = v;
}

void filter_shutdown(void)
{
	pool_free(&pool);
	free(delims);
	delims = NULL;
	free(frontend);
	frontend = NULL;
}

static void msg_free(struct msg **mp)
{
	struct msg *m = *mp;

	if (m == NULL)
		return;
	txn_end(&m->txn);
	for (size_t i = 0; i < m->nrcpts; i++)
		free(m->rcpts[i].addr);
	free(m->rcpts);
	free(m);
	*mp = NULL;
}

/* The one cleanup path: end of message, abort and close all end here. */
static void conn_end_msg(struct conn *c)
{
	if (c == NULL)
		return;
	msg_free(&c->msg);
	c->lost_msg = 0;
}

static sfsistat step_ok(const struct conn *c, unsigned long nr)
{
	return c && (c->noreply & nr) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
			       unsigned long f2, unsigned long f3, unsigned long *pf0,
			       unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct conn *c;

	(void)f2;
	(void)f3;
	if (!(f0 & SMFIF_QUARANTINE)) {
		/* Without quarantine the milter cannot hold mail; letting mail
		 * through unchecked is worse than Postfix's default action. */
		log_error("MTA does not offer the quarantine action: refusing the connection");
		return SMFIS_REJECT;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_error("negotiate: out of memory");
		return SMFIS_REJECT;
	}
	c->noreply = f1 & NOREPLY_STEPS;
	c->sync_us = time_now_us();
	smfi_setpriv(ctx, c);
	*pf0 = SMFIF_QUARANTINE | (f0 & SMFIF_SETSYMLIST);
	*pf1 = (f1 & UNUSED_STEPS) | c->noreply;
	*pf2 = 0;
	*pf3 = 0;
	/* Postfix sends the queue ID {i} at end of message by default
	 * (milter_end_of_data_macros); ask for it anyway, in case a site
	 * changed that list. */
	if ((f0 & SMFIF_SETSYMLIST) && smfi_setsymlist(ctx, SMFIM_EOM, "i") != MI_SUCCESS)
		log_warn("negotiate: could not ask for the {i} macro at end of message");
	return SMFIS_CONTINUE;
}

static sfsistat mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = smfi_getpriv(ctx);

	(void)argv;
	if (c == NULL)
		return SMFIS_TEMPFAIL; /* no negotiation context: cannot happen */
	conn_end_msg(c);
	if ((c->msg = calloc(1, sizeof(*c->msg))) == NULL) {
		c->lost_msg = 1;
		return step_ok(c, SMFIP_NR_MAIL);
	}
	txn_begin_at(&c->msg->txn, c->sync_us);
	return step_ok(c, SMFIP_NR_MAIL);
}

static sfsistat mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = smfi_getpriv(ctx);
	struct msg *m = c ? c->msg : NULL;
	char canon[ADDR_MAX];
	const char *why;
	const char *raw = argv && argv[0] ? argv[0] : "";

	if (m == NULL || m->failed)
		return step_ok(c, SMFIP_NR_RCPT);
	if (addr_normalize(raw, strlen(raw), fold_flags, canon, &why) < 0) {
		/* Postfix decides what a valid recipient is; an address we
		 * cannot read cannot be in the directory either. */
		log_debug("ignoring recipient: %s", why);
		return step_ok(c, SMFIP_NR_RCPT);
	}
	if (m->nrcpts == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 4;
		struct rcpt *r = realloc(m->rcpts, cap * sizeof(*r));

		if (r == NULL) {
			m->failed = 1;
			return step_ok(c, SMFIP_NR_RCPT);
		}
		m->rcpts = r;
		m->cap = cap;
	}
	if ((m->rcpts[m->nrcpts].addr = strdup(canon)) == NULL) {
		m->failed = 1;
		return step_ok(c, SMFIP_NR_RCPT);
	}
	m->rcpts[m->nrcpts].reason = HOLD_NONE;
	m->rcpts[m->nrcpts].request_id = 0;
	m->nrcpts++;
	return step_ok(c, SMFIP_NR_RCPT);
}

static sfsistat tempfail(SMFICTX *ctx, struct conn *c, const char *qid, const char *why)
{
	log_warn("%s: tempfail reason=\"%s\"", qid, why);
	/* The sender retries; Postfix logs this text with the 4xx. */
	(void)smfi_setreply(ctx, "451", "4.3.0", "fedmig: cannot check the recipients now, try again later");
	conn_end_msg(c);
	return SMFIS_TEMPFAIL;
}

static sfsistat mlfi_eom(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	struct msg *m = c ? c->msg : NULL;
	const char *qid = smfi_getsymval(ctx, "i");
	const char *lqid = decide_queue_id_ok(qid) ? qid : "NOQUEUE";
	struct pool_handle *h;
	struct store *s;
	char err[512], reason[ADDR_MAX + 64];
	char *list;
	long long request_id = 0;
	int nheld;
	size_t first = 0;

	if (c)
		c->sync_us = time_now_us(); /* Postfix waits for this reply */
	if (m == NULL)
		return tempfail(ctx, c, lqid,
				c && c->lost_msg ? "out of memory at MAIL FROM" : "no transaction state");
	if (m->failed)
		return tempfail(ctx, c, lqid, "out of memory at RCPT TO");
	if ((h = pool_get(pool, err, sizeof(err))) == NULL)
		return tempfail(ctx, c, lqid, err);
	s = pool_store(h);
	if ((nheld = decide_check(s, delims, m->rcpts, m->nrcpts, m->txn.mail_us)) < 0) {
		snprintf(err, sizeof(err), "directory lookup: %s", store_errmsg(s));
		pool_put(pool, h, 1);
		return tempfail(ctx, c, lqid, err);
	}
	if (nheld == 0) {
		pool_put(pool, h, 0);
		if (verbose)
			for (size_t i = 0; i < m->nrcpts; i++)
				log_info("%s: pass rcpt=<%s>", lqid, m->rcpts[i].addr);
		conn_end_msg(c);
		return SMFIS_CONTINUE;
	}
	/* Held: the release step requeues only what is recorded here, so no
	 * queue ID, no record, no hold, only a retry. */
	if (qid == NULL || !decide_queue_id_ok(qid)) {
		pool_put(pool, h, 0);
		return tempfail(ctx, c, lqid,
				qid ? "bad queue ID in the {i} macro" : "no queue ID: the MTA sent no {i} macro");
	}
	while (m->rcpts[first].reason == HOLD_NONE)
		first++;
	request_id = m->rcpts[first].request_id;
	if ((list = decide_join(m->rcpts, m->nrcpts)) == NULL) {
		pool_put(pool, h, 0);
		return tempfail(ctx, c, qid, "out of memory");
	}
	/* Under this host's front end name: its fedmig-frontend releases it
	 * ("": the pilot's own queue, one Postfix host). */
	if (store_fe_held_add(s, frontend, qid, request_id, list, time_now_us()) != STORE_OK) {
		snprintf(err, sizeof(err), "record held message: %s", store_errmsg(s));
		free(list);
		pool_put(pool, h, 1);
		return tempfail(ctx, c, qid, err);
	}
	free(list);
	pool_put(pool, h, 0);
	snprintf(reason, sizeof(reason), "fedmig: request %lld: <%s> held for migration", request_id,
		 m->rcpts[first].addr);
	if (smfi_quarantine(ctx, reason) != MI_SUCCESS)
		return tempfail(ctx, c, qid, "smfi_quarantine failed");
	for (size_t i = 0; i < m->nrcpts; i++) {
		if (m->rcpts[i].reason != HOLD_NONE)
			log_info("%s: hold rcpt=<%s> request=%lld reason=%s", qid, m->rcpts[i].addr,
				 m->rcpts[i].request_id, decide_reason_name(m->rcpts[i].reason));
		else if (verbose)
			log_info("%s: pass rcpt=<%s> (held with the message)", qid,
				 m->rcpts[i].addr);
	}
	conn_end_msg(c);
	return SMFIS_CONTINUE;
}

static sfsistat mlfi_abort(SMFICTX *ctx)
{
	conn_end_msg(smfi_getpriv(ctx));
	return SMFIS_CONTINUE;
}

static sfsistat mlfi_close(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	conn_end_msg(c);
	free(c);
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

struct smfiDesc filter_desc = {
	.xxfi_name = "fedmig-milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_QUARANTINE | SMFIF_SETSYMLIST,
	.xxfi_envfrom = mlfi_envfrom,
	.xxfi_envrcpt = mlfi_envrcpt,
	.xxfi_eom = mlfi_eom,
	.xxfi_abort = mlfi_abort,
	.xxfi_close = mlfi_close,
	.xxfi_negotiate = mlfi_negotiate,
};
