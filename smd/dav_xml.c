#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "dav_xml.h"
#include "xalloc.h"

#define NS_DAV "DAV:"
#define NS_CARD "urn:ietf:params:xml:ns:carddav"
#define NS_CAL "urn:ietf:params:xml:ns:caldav"
#define NS_CS "http://calendarserver.org/ns/"
#define NS_APPLE "http://apple.com/ns/ical/"
#define MAX_DEPTH 64

enum el {
	E_OTHER, E_MULTISTATUS, E_RESPONSE, E_HREF, E_STATUS, E_PROPSTAT, E_PROP, E_GETETAG,
	E_DISPLAYNAME, E_RESOURCETYPE, E_COLLECTION, E_PRINCIPAL, E_CUP, E_SYNC_TOKEN, E_CTAG,
	E_ADDRESSBOOK, E_ADDRESS_DATA, E_CARD_HOME, E_CARD_DESC, E_CALENDAR, E_CAL_DATA,
	E_CAL_HOME, E_CAL_DESC, E_COMPSET, E_COMP, E_COLOR,
};

static const struct {
	const char *ns, *name;
	enum el id;
	int text; /* 1: its text is kept */
} elements[] = {
	{NS_DAV, "multistatus", E_MULTISTATUS, 0},
	{NS_DAV, "response", E_RESPONSE, 0},
	{NS_DAV, "href", E_HREF, 1},
	{NS_DAV, "status", E_STATUS, 1},
	{NS_DAV, "propstat", E_PROPSTAT, 0},
	{NS_DAV, "prop", E_PROP, 0},
	{NS_DAV, "getetag", E_GETETAG, 1},
	{NS_DAV, "displayname", E_DISPLAYNAME, 1},
	{NS_DAV, "resourcetype", E_RESOURCETYPE, 0},
	{NS_DAV, "collection", E_COLLECTION, 0},
	{NS_DAV, "principal", E_PRINCIPAL, 0},
	{NS_DAV, "current-user-principal", E_CUP, 0},
	{NS_DAV, "sync-token", E_SYNC_TOKEN, 1},
	{NS_CS, "getctag", E_CTAG, 1},
	{NS_CARD, "addressbook", E_ADDRESSBOOK, 0},
	{NS_CARD, "address-data", E_ADDRESS_DATA, 1},
	{NS_CARD, "addressbook-home-set", E_CARD_HOME, 0},
	{NS_CARD, "addressbook-description", E_CARD_DESC, 1},
	{NS_CAL, "calendar", E_CALENDAR, 0},
	{NS_CAL, "calendar-data", E_CAL_DATA, 1},
	{NS_CAL, "calendar-home-set", E_CAL_HOME, 0},
	{NS_CAL, "calendar-description", E_CAL_DESC, 1},
	{NS_CAL, "supported-calendar-component-set", E_COMPSET, 0},
	{NS_CAL, "comp", E_COMP, 0},
	{NS_APPLE, "calendar-color", E_COLOR, 1},
};

struct dav_xml {
	xmlParserCtxtPtr ctxt;
	dav_resp_fn fn;
	void *ctx;
	enum el stack[MAX_DEPTH];
	int depth, skipped; /* skipped: levels below MAX_DEPTH not tracked */
	char *text;
	size_t tlen;
	int keep_text, in_response, ps_status;
	struct dav_resp resp, ps; /* the response, the current propstat's props */
	char *token, *err;
	int failed, multistatus;
	size_t n;
};

static void resp_clear(struct dav_resp *r)
{
	free(r->href);
	free(r->etag);
	free(r->data);
	free(r->displayname);
	free(r->color);
	free(r->description);
	free(r->ctag);
	free(r->sync_token);
	free(r->principal);
	free(r->card_home);
	free(r->cal_home);
	memset(r, 0, sizeof(*r));
}

static void fail(struct dav_xml *x, const char *why)
{
	if (!x->failed) {
		x->failed = 1;
		x->err = xstrdup(why);
	}
	xmlStopParser(x->ctxt);
}

static enum el lookup(const xmlChar *ns, const xmlChar *name, int *text)
{
	*text = 0;
	if (ns == NULL)
		return E_OTHER;
	for (size_t i = 0; i < sizeof(elements) / sizeof(elements[0]); i++)
		if (strcmp((const char *)name, elements[i].name) == 0 &&
		    strcmp((const char *)ns, elements[i].ns) == 0) {
			*text = elements[i].text;
			return elements[i].id;
		}
	return E_OTHER;
}

static enum el parent(const struct dav_xml *x, int up)
{
	return x->depth - 1 - up >= 0 ? x->stack[x->depth - 1 - up] : E_OTHER;
}

static unsigned comp_bit(const xmlChar **attrs, int nattrs)
{
	static const char *const names[] = {"VEVENT", "VTODO", "VJOURNAL"};

	/* attrs: localname, prefix, URI, value start, value end; 5 per attribute */
	for (int i = 0; i < nattrs; i++) {
		const xmlChar **a = attrs + 5 * i;

		if (strcmp((const char *)a[0], "name") != 0)
			continue;
		for (unsigned b = 0; b < 3; b++)
			if ((size_t)(a[4] - a[3]) == strlen(names[b]) &&
			    memcmp(a[3], names[b], strlen(names[b])) == 0)
				return 1u << b;
	}
	return 0;
}

static void on_start(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri,
		     int nns, const xmlChar **ns, int nattrs, int ndef, const xmlChar **attrs)
{
	struct dav_xml *x = ctx;
	int text;
	enum el e = lookup(uri, name, &text);

	if (x->depth == 0 && e != E_MULTISTATUS)
		return fail(x, "the body is not a DAV multistatus");
	if (x->depth == MAX_DEPTH) {
		if (++x->skipped > 10000)
			fail(x, "XML nested too deep");
		return;
	}
	if (e == E_MULTISTATUS && x->depth == 0)
		x->multistatus = 1;
	if (e == E_RESPONSE && parent(x, 0) == E_MULTISTATUS) {
		resp_clear(&x->resp);
		x->in_response = 1;
	}
	if (e == E_PROPSTAT) {
		resp_clear(&x->ps);
		x->ps_status = 0;
	}
	if (parent(x, 0) == E_RESOURCETYPE)
		x->ps.restype |= e == E_COLLECTION    ? DAV_RT_COLLECTION
				 : e == E_ADDRESSBOOK ? DAV_RT_ADDRESSBOOK
				 : e == E_CALENDAR    ? DAV_RT_CALENDAR
				 : e == E_PRINCIPAL   ? DAV_RT_PRINCIPAL
						      : 0;
	if (e == E_COMP && parent(x, 0) == E_COMPSET)
		x->ps.comps |= comp_bit(attrs, nattrs);
	x->stack[x->depth++] = e;
	x->keep_text = text;
	x->tlen = 0;
}

static void on_text(void *ctx, const xmlChar *ch, int len)
{
	struct dav_xml *x = ctx;

	if (!x->keep_text || x->skipped || len <= 0)
		return;
	if (x->tlen + (size_t)len > DAV_XML_MAX_TEXT)
		return fail(x, "an XML element's text is larger than 8 MB");
	x->text = xrealloc(x->text, x->tlen + (size_t)len + 1);
	memcpy(x->text + x->tlen, ch, (size_t)len);
	x->tlen += (size_t)len;
	x->text[x->tlen] = '\0';
}

static char *take_text(struct dav_xml *x)
{
	char *t = xstrndup(x->text ? x->text : "", x->tlen);

	x->tlen = 0;
	return t;
}

static int parse_status(const char *s)
{
	const char *sp = strchr(s, ' ');
	int code = sp ? atoi(sp + 1) : 0;

	return code >= 100 && code <= 599 ? code : 0;
}

/* set: store the element's text into *F (the first one wins). */
static void set(struct dav_xml *x, char **f)
{
	if (*f == NULL)
		*f = take_text(x);
}

static void end_href(struct dav_xml *x)
{
	char *t = take_text(x);
	char *p = dav_path_decode(t);
	enum el up = parent(x, 1);
	char **f = up == E_RESPONSE	 ? &x->resp.href
		   : up == E_CUP	 ? &x->ps.principal
		   : up == E_CARD_HOME ? &x->ps.card_home
		   : up == E_CAL_HOME  ? &x->ps.cal_home
				       : NULL;

	free(t);
	if (f != NULL && *f == NULL)
		*f = p;
	else
		free(p);
}

static void move(char **dst, char **src)
{
	if (*dst == NULL) {
		*dst = *src;
		*src = NULL;
	}
}

/* end_propstat: a 2xx propstat's properties become the response's. */
static void end_propstat(struct dav_xml *x)
{
	struct dav_resp *r = &x->resp, *p = &x->ps;

	if (x->ps_status >= 200 && x->ps_status < 300) {
		move(&r->etag, &p->etag);
		move(&r->displayname, &p->displayname);
		move(&r->color, &p->color);
		move(&r->description, &p->description);
		move(&r->ctag, &p->ctag);
		move(&r->sync_token, &p->sync_token);
		move(&r->principal, &p->principal);
		move(&r->card_home, &p->card_home);
		move(&r->cal_home, &p->cal_home);
		if (r->data == NULL) {
			r->data = p->data;
			r->data_len = p->data_len;
			p->data = NULL;
		}
		r->restype |= p->restype;
		r->comps |= p->comps;
	}
	resp_clear(p);
}

static void end_prop(struct dav_xml *x, enum el e)
{
	struct dav_resp *p = &x->ps;

	switch (e) {
	case E_GETETAG: set(x, &p->etag); break;
	case E_DISPLAYNAME: set(x, &p->displayname); break;
	case E_COLOR: set(x, &p->color); break;
	case E_CARD_DESC: case E_CAL_DESC: set(x, &p->description); break;
	case E_CTAG: set(x, &p->ctag); break;
	case E_SYNC_TOKEN: set(x, &p->sync_token); break;
	case E_ADDRESS_DATA: case E_CAL_DATA:
		if (p->data == NULL) {
			p->data_len = x->tlen;
			p->data = take_text(x);
		}
		break;
	default: break;
	}
}

static void on_end(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri)
{
	struct dav_xml *x = ctx;

	if (x->skipped) {
		x->skipped--;
		return;
	}
	if (x->depth == 0)
		return;
	enum el e = x->stack[x->depth - 1], up = parent(x, 1);

	if (e == E_HREF)
		end_href(x);
	else if (e == E_STATUS && (up == E_RESPONSE || up == E_PROPSTAT)) {
		char *t = take_text(x);

		*(up == E_RESPONSE ? &x->resp.status : &x->ps_status) = parse_status(t);
		free(t);
	} else if (e == E_SYNC_TOKEN && up == E_MULTISTATUS)
		set(x, &x->token);
	else if (up == E_PROP && parent(x, 2) == E_PROPSTAT)
		end_prop(x, e);
	else if (e == E_PROPSTAT)
		end_propstat(x);
	else if (e == E_RESPONSE && x->in_response) {
		x->in_response = 0;
		x->n++;
		if (x->fn(x->ctx, &x->resp) != 0)
			fail(x, "stopped by the caller");
		resp_clear(&x->resp);
	}
	x->depth--;
	x->keep_text = 0;
	x->tlen = 0;
}

static void on_dtd(void *ctx, const xmlChar *name, const xmlChar *eid, const xmlChar *sid)
{
	fail(ctx, "the XML has a DOCTYPE (refused: no DTD or entity is accepted)");
}

static void on_entity(void *ctx, const xmlChar *name, int type, const xmlChar *pid,
		      const xmlChar *sid, xmlChar *content)
{
	fail(ctx, "the XML declares an entity (refused)");
}

static void on_error(void *ctx, const char *msg, ...)
{
	struct dav_xml *x = ctx;

	fail(x, "the XML is not well-formed");
}

struct dav_xml *dav_xml_new(dav_resp_fn fn, void *ctx)
{
	struct dav_xml *x = xcalloc(1, sizeof(*x));
	xmlSAXHandler sax;

	memset(&sax, 0, sizeof(sax));
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = on_start;
	sax.endElementNs = on_end;
	sax.characters = on_text;
	sax.cdataBlock = on_text;
	sax.internalSubset = on_dtd;
	sax.externalSubset = on_dtd;
	sax.entityDecl = on_entity;
	sax.error = on_error;
	sax.fatalError = on_error;
	x->fn = fn;
	x->ctx = ctx;
	x->ctxt = xmlCreatePushParserCtxt(&sax, x, NULL, 0, NULL);
	if (x->ctxt == NULL) {
		x->failed = 1;
		x->err = xstrdup("cannot create an XML parser (out of memory)");
		return x;
	}
	xmlCtxtUseOptions(x->ctxt, XML_PARSE_NONET | XML_PARSE_NOCDATA);
	return x;
}

int dav_xml_feed(struct dav_xml *x, const char *buf, size_t len)
{
	while (!x->failed && len > 0) {
		int n = len > (1u << 20) ? 1 << 20 : (int)len;

		if (xmlParseChunk(x->ctxt, buf, n, 0) != 0)
			fail(x, "the XML is not well-formed");
		buf += n;
		len -= (size_t)n;
	}
	return x->failed ? -1 : 0;
}

int dav_xml_end(struct dav_xml *x, char **err_r)
{
	if (!x->failed && xmlParseChunk(x->ctxt, NULL, 0, 1) != 0)
		fail(x, "the XML is not well-formed or was cut");
	if (!x->failed && !x->multistatus)
		fail(x, "the body is not a DAV multistatus");
	if (x->failed) {
		*err_r = xstrdup(x->err);
		return -1;
	}
	return 0;
}

const char *dav_xml_sync_token(const struct dav_xml *x)
{
	return x->token;
}

size_t dav_xml_responses(const struct dav_xml *x)
{
	return x->n;
}

void dav_xml_free(struct dav_xml **xp)
{
	struct dav_xml *x = *xp;

	if (x == NULL)
		return;
	if (x->ctxt)
		xmlFreeParserCtxt(x->ctxt);
	resp_clear(&x->resp);
	resp_clear(&x->ps);
	free(x->text);
	free(x->token);
	free(x->err);
	free(x);
	*xp = NULL;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* clean: P has no empty "." or ".." segment (a double slash is tolerated). */
static int clean(const char *p)
{
	for (const char *s = p; s != NULL; s = strchr(s + 1, '/')) {
		const char *seg = s + 1;
		size_t n = strcspn(seg, "/");

		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
	}
	return 1;
}

char *dav_path_decode(const char *href)
{
	const char *p = href + strspn(href, " \t\r\n");
	const char *scheme = strstr(p, "://");

	if (scheme != NULL && strcspn(p, "/") > (size_t)(scheme - p)) {
		p = strchr(scheme + 3, '/');
		if (p == NULL)
			p = "/";
	}
	if (*p != '/')
		return NULL;
	size_t n = strcspn(p, " \t\r\n?#");
	char *out = xmalloc(n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		int h, l;

		if (p[i] == '%' && i + 2 < n && (h = hexval(p[i + 1])) >= 0 &&
		    (l = hexval(p[i + 2])) >= 0) {
			*o++ = (char)(h * 16 + l);
			i += 2;
		} else {
			*o++ = p[i];
		}
	}
	*o = '\0';
	if ((size_t)(o - out) != strlen(out) || !clean(out)) {
		free(out);
		return NULL;
	}
	return out;
}

char *dav_path_encode(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(path);
	char *out = xmalloc(3 * n + 1), *o = out;

	for (const unsigned char *s = (const unsigned char *)path; *s; s++) {
		if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || strchr("-._~/", *s) != NULL) {
			*o++ = (char)*s;
		} else {
			*o++ = '%';
			*o++ = hex[*s >> 4];
			*o++ = hex[*s & 15];
		}
	}
	*o = '\0';
	return out;
}
