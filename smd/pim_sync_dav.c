/* pim_sync_dav: a side's DAV servers, discovery, listings, multigets. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pim_sync_int.h"
#include "secrets.h"
#include "smd.h"
#include "xalloc.h"

#define MULTIGET_BATCH 100

static const char *const url_key[3] = {NULL, "carddav", "caldav"};

char *pim_xml_escape(const char *t)
{
	size_t n = 0;

	for (const char *s = t; *s; s++)
		n += *s == '&' ? 5 : (*s == '<' || *s == '>') ? 4 : *s == '"' ? 6 : 1;
	char *out = xmalloc(n + 1), *o = out;

	for (const char *s = t; *s; s++) {
		const char *r = *s == '&'   ? "&amp;"
				: *s == '<' ? "&lt;"
				: *s == '>' ? "&gt;"
				: *s == '"' ? "&quot;"
					    : NULL;

		if (r) {
			memcpy(o, r, strlen(r));
			o += strlen(r);
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

/* login_ok: LOGIN can stand in a path: no slash, control byte, "." or "..". */
static int login_ok(const char *login)
{
	if (*login == '\0' || strcmp(login, ".") == 0 || strcmp(login, "..") == 0)
		return 0;
	for (const char *s = login; *s; s++)
		if ((unsigned char)*s < ' ' || *s == '/' || *s == 0x7f)
			return 0;
	return 1;
}

/* principal_path: TEMPLATE under BASE with %a %u %d of LOGIN. */
static char *principal_path(const char *base, const char *tmpl, const char *login)
{
	const char *at = strrchr(login, '@');
	size_t ulen = at ? (size_t)(at - login) : strlen(login);
	char *out = xstrdup(base);

	for (const char *t = tmpl + (*tmpl == '/'); *t; t++) {
		char *next;

		if (t[0] == '%' && (t[1] == 'a' || t[1] == 'u' || t[1] == 'd')) {
			next = t[1] == 'a'   ? xasprintf("%s%s", out, login)
			       : t[1] == 'u' ? xasprintf("%s%.*s", out, (int)ulen, login)
					     : xasprintf("%s%s", out, at ? at + 1 : "");
			t++;
		} else {
			next = xasprintf("%s%c", out, *t);
		}
		free(out);
		out = next;
	}
	return out;
}

static int side_auth(const struct config *cfg, const char *system, const char *login,
		     char **user_r, char **pass_r, char **err_r)
{
	const char *auth = config_sys_str(cfg, system, "dav_auth");

	if (strcmp(auth, "user") == 0) {
		const char *f = config_sys_str(cfg, system, "user_passwords");

		*user_r = xstrdup(login);
		if (*f == '\0') {
			*err_r = xasprintf("system %s: %s_dav_auth = user needs %s_user_passwords",
					   system, system, system);
			return -1;
		}
		return smd_read_user_password(f, login, pass_r, err_r);
	}
	const char *f = config_sys_str(cfg, system, "credentials");

	if (*f == '\0') {
		*err_r = xasprintf("system %s: %s_dav_auth = master needs %s_credentials", system,
				   system, system);
		return -1;
	}
	return smd_read_credentials(f, user_r, pass_r, err_r);
}

static void side_want(const struct config *cfg, const char *system, struct pim_side *s)
{
	const char *v = config_sys_str(cfg, system, "dav_vcard");
	char *key = xasprintf("%s_%s", system, "dav_max_photo");

	s->want.vcard_version = strcmp(v, "3.0") == 0 ? 30 : strcmp(v, "4.0") == 0 ? 40 : 0;
	s->want.max_photo = (size_t)config_int(cfg, key);
	free(key);
}

int pim_side_open(const struct pim_opts *o, const char *system, const char *login, int target,
		  struct pim_side *s, char **err_r)
{
	const struct config *cfg = o->cfg;
	char *user = NULL, *pass = NULL;
	const char *tmpl = config_sys_str(cfg, system, "dav_principal");
	int rc = 0;

	memset(s, 0, sizeof(*s));
	s->system = system;
	s->login = xstrdup(login);
	s->is_target = target;
	side_want(cfg, system, s);
	if (!login_ok(login)) {
		*err_r = xasprintf("login \"%s\" cannot stand in a DAV path", login);
		return -1;
	}
	if (*tmpl == '\0' && strcmp(config_sys_str(cfg, system, "dav_auth"), "user") != 0) {
		/* current-user-principal would name the master user's own */
		*err_r = xasprintf("system %s: %s_dav_principal is empty: it is needed with "
				   "%s_dav_auth = master",
				   system, system, system);
		return -1;
	}
	if (side_auth(cfg, system, login, &user, &pass, err_r) < 0)
		return -1;
	for (int k = PIM_CARD; k <= PIM_CAL; k++) {
		const char *url = config_sys_str(cfg, system, url_key[k]);
		struct dav_conf dc = {url, user, pass, config_str(cfg, "tls_ca_file"),
				      config_bool(cfg, "tls_verify"),
				      (int)config_time_ms(cfg, "smd_io_timeout"),
				      (int)config_int(cfg, "pim_requests")};

		if (*url == '\0')
			continue;
		if (k == PIM_CAL && s->dav[PIM_CARD] &&
		    strcmp(url, config_sys_str(cfg, system, "carddav")) == 0)
			s->dav[k] = s->dav[PIM_CARD];
		else if ((s->dav[k] = dav_new(&dc, err_r)) == NULL) {
			rc = -1;
			break;
		}
		if (*tmpl)
			s->principal[k] = principal_path(dav_base_path(s->dav[k]), tmpl, login);
	}
	free(user);
	secrets_wipe(&pass);
	return rc;
}

void pim_side_close(struct pim_side *s)
{
	if (s->dav[PIM_CAL] == s->dav[PIM_CARD])
		s->dav[PIM_CAL] = NULL;
	for (int k = PIM_CARD; k <= PIM_CAL; k++) {
		dav_free(&s->dav[k]);
		free(s->principal[k]);
		free(s->home[k]);
	}
	free(s->login);
	memset(s, 0, sizeof(*s));
}

struct disc {
	enum pim_kind kind;
	const char *home;
	char *principal, *homeset;
	struct pim_dcolls *c;
};

static int on_principal(void *ctx, const struct dav_resp *r)
{
	struct disc *d = ctx;
	char *h = d->kind == PIM_CARD ? r->card_home : r->cal_home;

	if (r->principal && d->principal == NULL)
		d->principal = xstrdup(r->principal);
	if (h && d->homeset == NULL)
		d->homeset = xstrdup(h);
	return 0;
}

static char *dup0(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static int on_coll(void *ctx, const struct dav_resp *r)
{
	struct disc *d = ctx;
	unsigned want = d->kind == PIM_CARD ? DAV_RT_ADDRESSBOOK : DAV_RT_CALENDAR;

	if (r->href == NULL || !(r->restype & want) || strcmp(r->href, d->home) == 0)
		return 0;
	if (d->c->n % 16 == 0)
		d->c->v = xrealloc(d->c->v, (d->c->n + 16) * sizeof(*d->c->v));
	struct pim_dcoll *c = &d->c->v[d->c->n++];

	memset(c, 0, sizeof(*c));
	c->href = xstrdup(r->href);
	c->name = dup0(r->displayname);
	c->color = dup0(r->color);
	c->desc = dup0(r->description);
	c->token = dup0(r->sync_token);
	c->restype = r->restype;
	c->comps = r->comps;
	return 0;
}

static const char prop_cup[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?><D:propfind xmlns:D=\"DAV:\"><D:prop>"
	"<D:current-user-principal/></D:prop></D:propfind>";
static const char prop_homes[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?><D:propfind xmlns:D=\"DAV:\""
	" xmlns:A=\"urn:ietf:params:xml:ns:carddav\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\">"
	"<D:prop><D:resourcetype/><A:addressbook-home-set/><C:calendar-home-set/></D:prop>"
	"</D:propfind>";
static const char prop_colls[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?><D:propfind xmlns:D=\"DAV:\""
	" xmlns:A=\"urn:ietf:params:xml:ns:carddav\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\""
	" xmlns:S=\"http://calendarserver.org/ns/\" xmlns:I=\"http://apple.com/ns/ical/\">"
	"<D:prop><D:resourcetype/><D:displayname/><D:sync-token/>"
	"<I:calendar-color/><C:calendar-description/><A:addressbook-description/>"
	"<C:supported-calendar-component-set/></D:prop></D:propfind>";

/* find_principal: the user's principal by current-user-principal. */
static int find_principal(struct pim_side *s, enum pim_kind kind, char **err_r)
{
	struct dav *dv = s->dav[kind];
	struct disc d = {kind, NULL, NULL, NULL, NULL};
	int st = pim_xml_call(dv, "PROPFIND", dav_base_path(dv), "0", prop_cup, on_principal, &d,
			      NULL, err_r);

	free(d.homeset);
	if (st != 207 || d.principal == NULL) {
		if (st == 207)
			*err_r = xasprintf("%s: the server named no current-user-principal",
					   s->system);
		free(d.principal);
		return -1;
	}
	s->principal[kind] = d.principal;
	return 0;
}

/* make_principal: MKCOL the target's missing principal collection. */
static int make_principal(struct pim_side *s, enum pim_kind kind, char **err_r)
{
	struct dav_req rq = {.method = "MKCOL", .path = xstrdup(s->principal[kind])};
	struct dav_req *p = &rq;

	dav_run(s->dav[kind], &p, 1);
	int rc = rq.status == 201 || rq.status == 405 ? 0 : -1;

	if (rc < 0) {
		char *why = dav_reason(&rq);

		*err_r = xasprintf("%s: cannot create the principal %s: %s", s->system,
				   s->principal[kind], why);
		free(why);
	} else {
		log_info("%s: created the principal collection %s", s->system, s->principal[kind]);
	}
	dav_req_free(&rq);
	return rc;
}

/* home_set: S's KIND home set (the principal when the server names none). */
static int home_set(struct pim_side *s, enum pim_kind kind, char **err_r)
{
	struct disc d = {kind, NULL, NULL, NULL, NULL};

	if (s->home[kind] != NULL)
		return 0;
	if (s->principal[kind] == NULL && find_principal(s, kind, err_r) < 0)
		return -1;
	int st = pim_xml_call(s->dav[kind], "PROPFIND", s->principal[kind], "0", prop_homes,
			      on_principal, &d, NULL, err_r);

	free(d.principal);
	if (st == 404 && s->is_target) {
		free(*err_r);
		*err_r = NULL;
		if (make_principal(s, kind, err_r) < 0)
			return -1;
	} else if (st == 404) {
		free(*err_r);
		*err_r = NULL;
		return 1; /* no principal on the source: nothing to copy */
	} else if (st != 207) {
		return -1;
	}
	s->home[kind] = d.homeset ? d.homeset : xstrdup(s->principal[kind]);
	return 0;
}

int pim_discover(struct pim_side *s, enum pim_kind kind, struct pim_dcolls *c, char **err_r)
{
	memset(c, 0, sizeof(*c));
	if (s->dav[kind] == NULL)
		return 0;
	int rc = home_set(s, kind, err_r);

	if (rc != 0)
		return rc > 0 ? 0 : -1;
	struct disc d = {kind, s->home[kind], NULL, NULL, c};
	int st = pim_xml_call(s->dav[kind], "PROPFIND", s->home[kind], "1", prop_colls, on_coll,
			      &d, NULL, err_r);

	return st == 207 ? 0 : -1;
}

void pim_dcolls_free(struct pim_dcolls *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].href);
		free(c->v[i].name);
		free(c->v[i].color);
		free(c->v[i].desc);
		free(c->v[i].token);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/* prop_el: "<TAG>escaped VALUE</TAG>", or "" when VALUE is NULL. */
static char *prop_el(const char *tag, const char *value)
{
	if (value == NULL)
		return xstrdup("");
	char *e = pim_xml_escape(value), *out = xasprintf("<%s>%s</%s>", tag, e, tag);

	free(e);
	return out;
}

static char *coll_body(enum pim_kind kind, const struct pim_dcoll *src)
{
	char *name = prop_el("D:displayname", src->name);
	char *color = prop_el("I:calendar-color", kind == PIM_CAL ? src->color : NULL);
	char *desc = prop_el(kind == PIM_CAL ? "C:calendar-description" : "A:addressbook-description",
			     src->desc);
	unsigned comps = src->comps ? src->comps : 1;
	char *out = xasprintf(
		"<?xml version=\"1.0\" encoding=\"utf-8\"?><%s xmlns:D=\"DAV:\""
		" xmlns:A=\"urn:ietf:params:xml:ns:carddav\""
		" xmlns:C=\"urn:ietf:params:xml:ns:caldav\" xmlns:I=\"http://apple.com/ns/ical/\">"
		"<D:set><D:prop>%s%s%s%s%s%s%s%s</D:prop></D:set></%s>",
		kind == PIM_CAL ? "C:mkcalendar" : "D:mkcol",
		kind == PIM_CARD ? "<D:resourcetype><D:collection/><A:addressbook/></D:resourcetype>"
				 : "",
		name, color, desc, kind == PIM_CAL ? "<C:supported-calendar-component-set>" : "",
		kind == PIM_CAL && (comps & 1) ? "<C:comp name=\"VEVENT\"/>" : "",
		kind == PIM_CAL && (comps & 2) ? "<C:comp name=\"VTODO\"/>" : "",
		kind == PIM_CAL ? ((comps & 4) ? "<C:comp name=\"VJOURNAL\"/>"
						"</C:supported-calendar-component-set>"
					      : "</C:supported-calendar-component-set>")
				: "",
		kind == PIM_CAL ? "C:mkcalendar" : "D:mkcol");

	free(name);
	free(color);
	free(desc);
	return out;
}

int pim_make_coll(struct pim_side *s, enum pim_kind kind, const char *href,
		  const struct pim_dcoll *src, char **err_r)
{
	struct dav_req rq = {.method = kind == PIM_CAL ? "MKCALENDAR" : "MKCOL",
			     .path = xstrdup(href),
			     .ctype = "application/xml; charset=utf-8"};
	struct dav_req *p = &rq;

	rq.body = coll_body(kind, src);
	rq.body_len = strlen(rq.body);
	dav_run(s->dav[kind], &p, 1);
	int rc = rq.status == 201 ? 0 : -1;

	if (rc < 0) {
		char *why = dav_reason(&rq);

		*err_r = xasprintf("%s: cannot create the %s %s: %s", s->system,
				   kind == PIM_CAL ? "calendar" : "address book", href, why);
		free(why);
	}
	dav_req_free(&rq);
	return rc;
}
