/* pim_sync: a mailbox's address books and calendars (pim_sync.h). */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pim_sync_int.h"
#include "store_req.h"
#include "timeutil.h"
#include "xalloc.h"

static const char *const kind_word[3] = {"", "addressbook", "calendar"};

int pim_sync_wanted(const struct config *cfg, const char *src, const char *dst)
{
	int s = *config_sys_str(cfg, src, "carddav") || *config_sys_str(cfg, src, "caldav");
	int d = *config_sys_str(cfg, dst, "carddav") || *config_sys_str(cfg, dst, "caldav");

	return s && d;
}

void pim_opts_scenario(struct pim_opts *o, const struct config *cfg, const char *scn)
{
	o->two_way = 0;
	o->conflict = PIM_STOP;
	if (scn == NULL || !config_has_scenario(cfg, scn))
		return;
	const char *c = config_sys_str(cfg, scn, "pim_conflict");

	o->two_way = strcmp(config_sys_str(cfg, scn, "pim_mode"), "two-way") == 0;
	o->conflict = strcmp(c, "source-wins") == 0   ? PIM_SOURCE_WINS
		      : strcmp(c, "target-wins") == 0 ? PIM_TARGET_WINS
		      : strcmp(c, "newest") == 0      ? PIM_NEWEST
						      : PIM_STOP;
}

static const char *last_segment(const char *href, size_t *len_r)
{
	size_t n = strlen(href);

	while (n > 0 && href[n - 1] == '/')
		n--;
	size_t e = n;

	while (n > 0 && href[n - 1] != '/')
		n--;
	*len_r = e - n;
	return href + n;
}

static const struct pim_dcoll *find_coll(const struct pim_dcolls *c, const char *href)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].href, href) == 0)
			return &c->v[i];
	return NULL;
}

static void report(const struct pim_opts *o, struct pim_coll_ctx *c, struct pim_result *r)
{
	const struct pim_counts *n = &c->rec.n;
	char *line = xasprintf(
		"pim: %s=%s created=%lld updated=%lld unchanged=%lld deleted=%lld conflict=%lld "
		"rejected=%lld fixes=%lld verified=%s%s",
		kind_word[c->kind], c->rec.name, n->created, n->updated, n->unchanged, n->deleted,
		n->conflicts, n->rejected, n->fixes, c->rec.verified ? "yes" : "no",
		c->held ? " held=yes" : "");

	log_info("%s: %s", o->mailbox_key, line);
	if (o->summary)
		fprintf(o->summary, "%s\n", line);
	free(line);
	r->collections++;
	r->n.items += n->items;
	r->n.created += n->created;
	r->n.updated += n->updated;
	r->n.unchanged += n->unchanged;
	r->n.deleted += n->deleted;
	r->n.conflicts += n->conflicts;
	r->n.rejected += n->rejected;
	r->n.fixes += n->fixes;
	r->held |= c->held;
}

/* rec_load: the collection's row, or a fresh one. */
static int rec_load(struct pim_coll_ctx *c, const char *src_href)
{
	const struct pim_opts *o = c->o;
	int rc = store_pim_coll_get(o->store, o->mailbox_key, src_href, &c->rec);

	if (rc == STORE_ERR) {
		c->why = xasprintf("cannot read the store: %s", store_errmsg(o->store));
		return -1;
	}
	if (rc == STORE_NOTFOUND) {
		c->rec.src_href = xstrdup(src_href);
		c->rec.src_token = xstrdup("");
		c->rec.dst_token = xstrdup("");
		c->rec.held = xstrdup("");
	}
	free(c->rec.dst_href);
	c->rec.dst_href = xstrdup(c->dst_href);
	c->rec.kind = c->kind;
	free(c->rec.name);
	size_t n;
	const char *seg = last_segment(src_href, &n);

	c->rec.name = c->scoll->name && *c->scoll->name ? xstrdup(c->scoll->name)
							: xstrndup(seg, n);
	/* the server's display name goes to the log and the report lines */
	for (char *p = c->rec.name; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	return 0;
}

/* one_coll: source collection SC of KIND to the target's home. */
static int one_coll(const struct pim_opts *o, struct pim_side *src, struct pim_side *dst,
		    enum pim_kind kind, const struct pim_dcoll *sc, const struct pim_dcolls *dcs,
		    struct pim_result *r)
{
	struct pim_coll_ctx c = {o, src, dst, kind, sc, NULL, NULL, 0, {0}, NULL, 0};
	const struct pim_dcoll *dcoll;
	size_t n;
	const char *seg = last_segment(sc->href, &n);
	char *err = NULL;
	int rc = -1;

	c.dst_href = xasprintf("%s%.*s/", dst->home[kind], (int)n, seg);
	if (rec_load(&c, sc->href) < 0)
		goto out;
	if ((dcoll = find_coll(dcs, c.dst_href)) != NULL) {
		c.dst_now_token = dcoll->token;
	} else {
		if (pim_make_coll(dst, kind, c.dst_href, sc, &err) < 0) {
			c.why = err;
			goto out;
		}
		log_info("%s: created the %s %s on %s", o->mailbox_key, kind_word[kind], c.dst_href,
			 dst->system);
		c.dst_created = 1;
	}
	rc = pim_sync_coll(&c);
	report(o, &c, r);
out:
	if (rc < 0 && r->reason[0] == '\0')
		snprintf(r->reason, sizeof(r->reason), "%s %s: %s", kind_word[kind], sc->href,
			 c.why ? c.why : "failed");
	if (rc < 0)
		log_error("%s: %s %s: %s", o->mailbox_key, kind_word[kind], sc->href,
			  c.why ? c.why : "failed");
	store_pim_coll_free(&c.rec);
	free(c.dst_href);
	free(c.why);
	return rc;
}

/* one_kind: every collection of KIND. */
static int one_kind(const struct pim_opts *o, struct pim_side *src, struct pim_side *dst,
		    enum pim_kind kind, struct pim_result *r)
{
	struct pim_dcolls sc, dc;
	char *err = NULL;
	int rc = 0;

	if (src->dav[kind] == NULL || dst->dav[kind] == NULL)
		return 0;
	if (pim_discover(src, kind, &sc, &err) < 0 || pim_discover(dst, kind, &dc, &err) < 0) {
		snprintf(r->reason, sizeof(r->reason), "discovery of %ss failed: %s",
			 kind_word[kind], err);
		log_error("%s: %s", o->mailbox_key, r->reason);
		free(err);
		pim_dcolls_free(&sc);
		return -1;
	}
	for (size_t i = 0; i < sc.n; i++)
		if (one_coll(o, src, dst, kind, &sc.v[i], &dc, r) < 0)
			rc = -1;
	pim_dcolls_free(&sc);
	pim_dcolls_free(&dc);
	return rc;
}

int pim_sync_run(const struct pim_opts *o, struct pim_result *r)
{
	struct pim_side src, dst;
	char *err = NULL;
	int rc = PIM_FAILED;

	memset(r, 0, sizeof(*r));
	memset(&dst, 0, sizeof(dst));
	if (pim_side_open(o, o->src_system, o->src_login, 0, &src, &err) < 0 ||
	    pim_side_open(o, o->dst_system, o->dst_login, 1, &dst, &err) < 0) {
		snprintf(r->reason, sizeof(r->reason), "%s", err);
		log_error("%s: contacts and calendars: %s", o->mailbox_key, err);
		free(err);
		goto out;
	}
	int a = one_kind(o, &src, &dst, PIM_CARD, r);
	int b = one_kind(o, &src, &dst, PIM_CAL, r);

	rc = a < 0 || b < 0 ? PIM_FAILED : r->held ? PIM_HELD : PIM_OK;
	for (int k = PIM_CARD; k <= PIM_CAL; k++) {
		long long all, w;
		struct dav *d[2] = {src.dav[k], dst.dav[k]};

		for (int i = 0; i < 2; i++)
			if (d[i] && (k == PIM_CARD || d[i] != (i ? dst.dav[PIM_CARD] : src.dav[PIM_CARD]))) {
				dav_counts(d[i], &all, &w);
				r->requests += all;
				r->writes += w;
			}
	}
	char *line = xasprintf("pim: collections=%lld items=%lld created=%lld updated=%lld "
			       "unchanged=%lld deleted=%lld conflict=%lld rejected=%lld fixes=%lld "
			       "requests=%lld writes=%lld result=%s",
			       r->collections, r->n.items, r->n.created, r->n.updated,
			       r->n.unchanged, r->n.deleted, r->n.conflicts, r->n.rejected,
			       r->n.fixes, r->requests, r->writes,
			       rc == PIM_OK ? "ok" : rc == PIM_HELD ? "held" : "failed");

	log_info("%s: %s", o->mailbox_key, line);
	if (o->summary)
		fprintf(o->summary, "%s\n", line);
	free(line);
out:
	pim_side_close(&src);
	pim_side_close(&dst);
	return rc;
}

/* job_scenario: REQUEST_ID's row; 1 when the store has none (a job queued
 * by hand, a request purged): no scenario asks for contacts and calendars
 * then, which is no failure of the mail copy; -1 on a store error (logged). */
static int job_scenario(struct store *s, long long request_id, struct req *rq)
{
	int rc = store_req_get(s, request_id, rq);

	if (rc == STORE_NOTFOUND)
		return 1;
	if (rc != STORE_OK)
		log_error("request %lld: cannot read its scenario: %s", request_id, store_errmsg(s));
	return rc == STORE_OK ? 0 : -1;
}

int pim_sync_job(const struct config *cfg, struct store *s, long long request_id, int kind,
		 const char *mailbox_key, const char *src_system, const char *src_login,
		 const char *dst_system, const char *dst_login, char *reason, size_t size)
{
	struct pim_opts o = {.cfg = cfg, .store = s, .src_system = src_system,
			     .src_login = src_login, .dst_system = dst_system,
			     .dst_login = dst_login, .mailbox_key = mailbox_key};
	struct pim_result r;
	struct req rq;

	int sr = job_scenario(s, request_id, &rq);

	if (sr < 0) {
		snprintf(reason, size, "contacts and calendars: cannot read the request's scenario");
		return -1;
	}
	if (sr > 0 || !config_has_scenario(cfg, rq.scenario) ||
	    !config_scn_bool(cfg, rq.scenario, "pim"))
		return 0;
	if (!pim_sync_wanted(cfg, src_system, dst_system)) {
		log_info("%s: contacts and calendars skipped: %s and %s do not both have a "
			 "carddav or caldav URL",
			 mailbox_key, src_system, dst_system);
		return 0;
	}
	pim_opts_scenario(&o, cfg, rq.scenario);
	int rc = pim_sync_run(&o, &r);
	long long next =
		o.two_way ? time_now_us() + config_time_ms(cfg, "pim_sync_interval") * 1000 : 0;
	int state = rc == PIM_OK ? PIM_JOB_DONE : rc == PIM_HELD ? PIM_JOB_HELD : PIM_JOB_FAILED;

	if (store_pim_job(s, request_id, kind, state, r.n.items, next) != STORE_OK)
		log_error("%s: cannot record the contacts and calendars outcome: %s", mailbox_key,
			  store_errmsg(s));
	if (rc == PIM_FAILED) {
		snprintf(reason, size, "contacts and calendars: %s", r.reason);
		return -1;
	}
	return 0;
}
