/* pim_sync_list: listings (sync-collection, PROPFIND of etags) and
 * multigets of one collection. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pim_sync_int.h"
#include "xalloc.h"

#define MULTIGET_BATCH 100

int pim_xml_call(struct dav *d, const char *method, const char *path, const char *depth,
		 const char *body, dav_resp_fn fn, void *ctx, char **token_r, char **err_r)
{
	struct dav_req rq = {.method = method, .path = xstrdup(path), .depth = depth,
			     .ctype = "application/xml; charset=utf-8"};
	struct dav_req *p = &rq;

	rq.body = xstrdup(body);
	rq.body_len = strlen(body);
	rq.xml = dav_xml_new(fn, ctx);
	dav_run(d, &p, 1);
	int st = rq.status;

	if (st == 207) {
		char *why = NULL;

		if (dav_xml_end(rq.xml, &why) < 0) {
			*err_r = xasprintf("%s %s: bad answer: %s", method, path, why);
			free(why);
			st = -1;
		} else if (token_r && dav_xml_sync_token(rq.xml)) {
			*token_r = xstrdup(dav_xml_sync_token(rq.xml));
		}
	} else {
		char *why = dav_reason(&rq);

		*err_r = xasprintf("%s %s: %s", method, path, why);
		free(why);
	}
	dav_xml_free(&rq.xml);
	dav_req_free(&rq);
	return st;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct pim_entry *)a)->href, ((const struct pim_entry *)b)->href);
}

struct lst {
	struct pim_listing *l;
	const char *coll;
	size_t cap;
};

static int on_entry(void *ctx, const struct dav_resp *r)
{
	struct lst *x = ctx;

	/* the collection itself, a sub-collection, an unusable href: not items */
	if (r->href == NULL || strcmp(r->href, x->coll) == 0 || (r->restype & DAV_RT_COLLECTION))
		return 0;
	if (r->etag == NULL && r->status != 404)
		return 0;
	if (x->l->n == x->cap)
		x->l->v = xrealloc(x->l->v, (x->cap = x->cap ? 2 * x->cap : 256) * sizeof(*x->l->v));
	x->l->v[x->l->n].href = xstrdup(r->href);
	x->l->v[x->l->n].etag = r->etag && r->status != 404 ? xstrdup(r->etag) : NULL;
	x->l->n++;
	return 0;
}

static const char prop_etags[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?><D:propfind xmlns:D=\"DAV:\"><D:prop>"
	"<D:getetag/><D:resourcetype/></D:prop></D:propfind>";

static int sync_report(struct dav *d, const char *href, const char *token, struct lst *x,
		       char **err_r)
{
	char *t = pim_xml_escape(token);
	char *body = xasprintf("<?xml version=\"1.0\" encoding=\"utf-8\"?>"
			       "<D:sync-collection xmlns:D=\"DAV:\"><D:sync-token>%s</D:sync-token>"
			       "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop>"
			       "</D:sync-collection>",
			       t);
	int st = pim_xml_call(d, "REPORT", href, NULL, body, on_entry, x, &x->l->token, err_r);

	free(t);
	free(body);
	return st;
}

static void listing_reset(struct pim_listing *l)
{
	pim_listing_free(l);
}

int pim_list(struct pim_side *s, enum pim_kind kind, const char *href, const char *token,
	     struct pim_listing *l, char **err_r)
{
	struct dav *d = s->dav[kind];
	struct lst x = {l, href, 0};
	int st;

	memset(l, 0, sizeof(*l));
	st = sync_report(d, href, token, &x, err_r);
	if (st != 207 && *token && st > 0) {
		/* an expired token (403/409 valid-sync-token): list everything */
		log_info("%s: %s: sync token refused (%s); listing everything", s->system, href,
			 *err_r);
		free(*err_r);
		*err_r = NULL;
		listing_reset(l);
		x.cap = 0;
		st = sync_report(d, href, "", &x, err_r);
		token = "";
	}
	if (st != 207 && st > 0) {
		free(*err_r);
		*err_r = NULL;
		listing_reset(l);
		x.cap = 0;
		st = pim_xml_call(d, "PROPFIND", href, "1", prop_etags, on_entry, &x, NULL, err_r);
		token = "";
	}
	if (st != 207) {
		listing_reset(l);
		return -1;
	}
	l->full = *token == '\0';
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_entry);
	return 0;
}

void pim_listing_free(struct pim_listing *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].href);
		free(l->v[i].etag);
	}
	free(l->v);
	free(l->token);
	memset(l, 0, sizeof(*l));
}

const struct pim_entry *pim_listing_find(const struct pim_listing *l, const char *href)
{
	struct pim_entry key = {(char *)href, NULL};

	return l->n ? bsearch(&key, l->v, l->n, sizeof(*l->v), cmp_entry) : NULL;
}

struct mg {
	struct pim_fetch *f;
	size_t cap;
};

static int on_item(void *ctx, const struct dav_resp *r)
{
	struct mg *m = ctx;

	if (r->href == NULL || r->data == NULL)
		return 0;
	if (m->f->n == m->cap)
		m->f->v = xrealloc(m->f->v, (m->cap = m->cap ? 2 * m->cap : 256) * sizeof(*m->f->v));
	struct pim_fetched *it = &m->f->v[m->f->n++];

	it->href = xstrdup(r->href);
	it->etag = r->etag ? xstrdup(r->etag) : xstrdup("");
	it->data = xstrndup(r->data, r->data_len);
	it->len = r->data_len;
	return 0;
}

static char *multiget_body(enum pim_kind kind, char **hrefs, size_t n)
{
	size_t cap = 512, len = 0;
	char *b = xmalloc(cap);

	len = (size_t)snprintf(b, cap, "<?xml version=\"1.0\" encoding=\"utf-8\"?><X:%s xmlns:D=\"DAV:\" xmlns:X=\"%s\"><D:prop><D:getetag/><X:%s/></D:prop>",
			       kind == PIM_CAL ? "calendar-multiget" : "addressbook-multiget",
			       kind == PIM_CAL ? "urn:ietf:params:xml:ns:caldav"
					       : "urn:ietf:params:xml:ns:carddav",
			       kind == PIM_CAL ? "calendar-data" : "address-data");
	for (size_t i = 0; i < n; i++) {
		char *enc = dav_path_encode(hrefs[i]), *esc = pim_xml_escape(enc);
		size_t need = strlen(esc) + 32;

		if (len + need + 64 > cap)
			b = xrealloc(b, cap = 2 * cap + need + 64);
		len += (size_t)snprintf(b + len, cap - len, "<D:href>%s</D:href>", esc);
		free(enc);
		free(esc);
	}
	snprintf(b + len, cap - len, "</X:%s>",
		 kind == PIM_CAL ? "calendar-multiget" : "addressbook-multiget");
	return b;
}

static int cmp_fetched(const void *a, const void *b)
{
	return strcmp(((const struct pim_fetched *)a)->href, ((const struct pim_fetched *)b)->href);
}

/* multiget_batches: every batch of HREFS as its own REPORT, all in one
 * dav_run so that several are in flight. */
int pim_multiget(struct pim_side *s, enum pim_kind kind, const char *coll, char **hrefs,
		 size_t n, struct pim_fetch *f, char **err_r)
{
	size_t nb = (n + MULTIGET_BATCH - 1) / MULTIGET_BATCH;
	struct dav_req *rq = xcalloc(nb ? nb : 1, sizeof(*rq));
	struct dav_req **p = xcalloc(nb ? nb : 1, sizeof(*p));
	struct mg m = {f, 0};
	int rc = 0;

	memset(f, 0, sizeof(*f));
	for (size_t b = 0; b < nb; b++) {
		size_t k = n - b * MULTIGET_BATCH < MULTIGET_BATCH ? n - b * MULTIGET_BATCH
								    : MULTIGET_BATCH;

		rq[b] = (struct dav_req){.method = "REPORT", .path = xstrdup(coll), .depth = "1",
					 .ctype = "application/xml; charset=utf-8"};
		rq[b].body = multiget_body(kind, hrefs + b * MULTIGET_BATCH, k);
		rq[b].body_len = strlen(rq[b].body);
		rq[b].xml = dav_xml_new(on_item, &m);
		p[b] = &rq[b];
	}
	dav_run(s->dav[kind], p, nb);
	for (size_t b = 0; b < nb; b++) {
		char *why = NULL;

		if (rc == 0 && rq[b].status != 207) {
			why = dav_reason(&rq[b]);
			rc = -1;
		} else if (rc == 0 && dav_xml_end(rq[b].xml, &why) < 0) {
			rc = -1;
		}
		if (why != NULL)
			*err_r = xasprintf("%s: REPORT multiget %s: %s", s->system, coll, why);
		free(why);
		dav_xml_free(&rq[b].xml);
		dav_req_free(&rq[b]);
	}
	free(rq);
	free(p);
	if (f->n > 1)
		qsort(f->v, f->n, sizeof(*f->v), cmp_fetched);
	return rc;
}

void pim_fetch_free(struct pim_fetch *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].href);
		free(f->v[i].etag);
		free(f->v[i].data);
	}
	free(f->v);
	memset(f, 0, sizeof(*f));
}

const struct pim_fetched *pim_fetch_find(const struct pim_fetch *f, const char *href)
{
	struct pim_fetched key = {.href = (char *)href};

	return f->n ? bsearch(&key, f->v, f->n, sizeof(*f->v), cmp_fetched) : NULL;
}
