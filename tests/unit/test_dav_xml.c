/* smd/dav_xml: WebDAV multistatus parsing, streamed, against hostile XML:
 * DTDs and entities refused (no XXE, no expansion), odd prefixes, a 10 MB
 * response fed in small pieces, percent-encoded and absolute hrefs,
 * 404 propstats, cut and malformed bodies, deep nesting. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckmain.h"
#include "dav_xml.h"
#include "pim_sync_coll.h"
#include "xalloc.h"

struct got {
	int n;
	char href[8][256], etag[8][64], name[8][64], data[8][256];
	int status[8];
	unsigned restype[8], comps[8];
	char card_home[256], cal_home[256], principal[256];
	size_t bytes;
};

static int on_resp(void *ctx, const struct dav_resp *r)
{
	struct got *g = ctx;
	int i = g->n < 8 ? g->n : 7;

	g->n++;
	g->bytes += r->data_len;
	snprintf(g->href[i], sizeof(g->href[i]), "%s", r->href ? r->href : "(null)");
	snprintf(g->etag[i], sizeof(g->etag[i]), "%s", r->etag ? r->etag : "(null)");
	snprintf(g->name[i], sizeof(g->name[i]), "%s", r->displayname ? r->displayname : "(null)");
	snprintf(g->data[i], sizeof(g->data[i]), "%.200s", r->data ? r->data : "(null)");
	g->status[i] = r->status;
	g->restype[i] = r->restype;
	g->comps[i] = r->comps;
	if (r->card_home)
		snprintf(g->card_home, sizeof(g->card_home), "%s", r->card_home);
	if (r->cal_home)
		snprintf(g->cal_home, sizeof(g->cal_home), "%s", r->cal_home);
	if (r->principal)
		snprintf(g->principal, sizeof(g->principal), "%s", r->principal);
	return 0;
}

/* parse: TEXT fed in pieces of STEP bytes; 0 or -1 (error in *ERR). */
static int parse(const char *text, size_t len, size_t step, struct got *g, char **err,
		 char **token)
{
	struct dav_xml *x = dav_xml_new(on_resp, g);
	int rc = 0;

	memset(g, 0, sizeof(*g));
	*err = NULL;
	for (size_t i = 0; i < len && rc == 0; i += step)
		rc = dav_xml_feed(x, text + i, len - i < step ? len - i : step);
	if (dav_xml_end(x, err) < 0)
		rc = -1;
	if (token)
		*token = dav_xml_sync_token(x) ? xstrdup(dav_xml_sync_token(x)) : NULL;
	dav_xml_free(&x);
	return rc;
}

static int parse_s(const char *text, struct got *g, char **err)
{
	return parse(text, strlen(text), 7, g, err, NULL);
}

START_TEST(test_prefixes)
{
	static const char doc[] =
		"<?xml version=\"1.0\"?>\n<zz:multistatus xmlns:zz=\"DAV:\" xmlns:q=\"urn:ietf:params:xml:ns:carddav\">"
		"<zz:response><zz:href>/alice%40s1.example.org/book/</zz:href><zz:propstat><zz:prop>"
		"<zz:resourcetype><zz:collection/><q:addressbook/></zz:resourcetype>"
		"<zz:displayname>Caf&#233; &amp; co</zz:displayname></zz:prop>"
		"<zz:status>HTTP/1.1 200 OK</zz:status></zz:propstat>"
		"<zz:propstat><zz:prop><zz:getetag>\"bad\"</zz:getetag></zz:prop>"
		"<zz:status>HTTP/1.1 404 Not Found</zz:status></zz:propstat></zz:response>"
		"<response xmlns=\"DAV:\"><href>http://h:1/a%20b/c.vcf</href>"
		"<propstat><prop><getetag>\"e1\"</getetag><address-data xmlns=\"urn:ietf:params:xml:ns:carddav\"><![CDATA[BEGIN:VCARD\r\n<x>]]></address-data></prop>"
		"<status>HTTP/1.1 200 OK</status></propstat></response>"
		"<other:response xmlns:other=\"urn:not-dav\"><other:href>/no</other:href></other:response>"
		"</zz:multistatus>";
	struct got g;
	char *err;

	ck_assert_msg(parse_s(doc, &g, &err) == 0, "%s", err ? err : "");
	ck_assert_int_eq(g.n, 2);
	ck_assert_str_eq(g.href[0], "/alice@s1.example.org/book/");
	ck_assert_str_eq(g.name[0], "Caf\xc3\xa9 & co");
	ck_assert_str_eq(g.etag[0], "(null)"); /* from the 404 propstat: not taken */
	ck_assert_uint_eq(g.restype[0], DAV_RT_COLLECTION | DAV_RT_ADDRESSBOOK);
	ck_assert_str_eq(g.href[1], "/a b/c.vcf");
	ck_assert_str_eq(g.etag[1], "\"e1\"");
	ck_assert_str_eq(g.data[1], "BEGIN:VCARD\r\n<x>");
}
END_TEST

START_TEST(test_homes_token)
{
	static const char doc[] =
		"<d:multistatus xmlns:d=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\">"
		"<d:response><d:href>/p/</d:href><d:propstat><d:prop>"
		"<d:current-user-principal><d:href>/u%2Fx/</d:href></d:current-user-principal>"
		"<C:calendar-home-set><d:href>/cal/home/</d:href></C:calendar-home-set>"
		"<C:supported-calendar-component-set><C:comp name=\"VEVENT\"/><C:comp name=\"VTODO\"/>"
		"</C:supported-calendar-component-set>"
		"</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
		"<d:response><d:href>/cal/gone.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status>"
		"</d:response><d:sync-token>http://x/ns/sync/42</d:sync-token></d:multistatus>";
	struct got g;
	char *err, *tok;

	ck_assert_int_eq(parse(doc, strlen(doc), 1, &g, &err, &tok), 0);
	ck_assert_int_eq(g.n, 2);
	ck_assert_str_eq(g.principal, "/u/x/");
	ck_assert_str_eq(g.cal_home, "/cal/home/");
	ck_assert_uint_eq(g.comps[0], 3);
	ck_assert_int_eq(g.status[1], 404);
	ck_assert_str_eq(tok, "http://x/ns/sync/42");
	free(tok);
}
END_TEST

/* A DOCTYPE, internal or external, with or without entities: refused
 * before anything is expanded or fetched. */
static const char *const hostile[] = {
	"<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
	"<m:multistatus xmlns:m=\"DAV:\"><m:response><m:href>&x;</m:href></m:response></m:multistatus>",
	"<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">"
	"<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><m:multistatus xmlns:m=\"DAV:\"><m:response>"
	"<m:href>&c;</m:href></m:response></m:multistatus>",
	"<!DOCTYPE m SYSTEM \"http://127.0.0.1:1/evil.dtd\"><m:multistatus xmlns:m=\"DAV:\"/>",
	"<m:multistatus xmlns:m=\"DAV:\"><m:response><m:href>&undefined;</m:href></m:response></m:multistatus>",
	"<m:multistatus xmlns:m=\"DAV:\"><m:response><m:href>/a</m:href>",	/* cut */
	"<m:multistatus xmlns:m=\"DAV:\"></m:response></m:multistatus>",	/* mismatched */
	"<html><body>502 Bad Gateway</body></html>",				/* not a multistatus */
	"",
	"\xef\xbb\xbf<m:multistatus xmlns:m=\"DAV:\"><m:response>\x01</m:response></m:multistatus>",
};

START_TEST(test_hostile)
{
	struct got g;
	char *err;
	const char *doc = hostile[_i];

	ck_assert_int_eq(parse(doc, strlen(doc), 5, &g, &err, NULL), -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(g.n == 0 || strstr(g.href[0], "root:") == NULL, "entity expanded");
	free(err);
}
END_TEST

START_TEST(test_bad_hrefs)
{
	static const char doc[] =
		"<d:multistatus xmlns:d=\"DAV:\">"
		"<d:response><d:href>/a/%2e%2e/etc</d:href><d:status>HTTP/1.1 200 OK</d:status></d:response>"
		"<d:response><d:href>/a/%00b</d:href><d:status>HTTP/1.1 200 OK</d:status></d:response>"
		"<d:response><d:href>relative/x</d:href><d:status>HTTP/1.1 200 OK</d:status></d:response>"
		"<d:response><d:href>/ok%zz%4</d:href><d:status>HTTP/9 999 x</d:status></d:response>"
		"</d:multistatus>";
	struct got g;
	char *err;

	ck_assert_int_eq(parse_s(doc, &g, &err), 0);
	ck_assert_int_eq(g.n, 4);
	ck_assert_str_eq(g.href[0], "(null)");
	ck_assert_str_eq(g.href[1], "(null)");
	ck_assert_str_eq(g.href[2], "(null)");
	ck_assert_str_eq(g.href[3], "/ok%zz%4");
	ck_assert_int_eq(g.status[3], 0);
}
END_TEST

START_TEST(test_paths)
{
	char *p = dav_path_encode("/alice@x.org/caf\xc3\xa9 b/%;?#");

	ck_assert_str_eq(p, "/alice%40x.org/caf%C3%A9%20b/%25%3B%3F%23");
	char *d = dav_path_decode(p);

	ck_assert_str_eq(d, "/alice@x.org/caf\xc3\xa9 b/%;?#");
	free(p);
	free(d);
	d = dav_path_decode("https://h.example:8443");
	ck_assert_str_eq(d, "/");
	free(d);
	ck_assert_ptr_null(dav_path_decode("/a/../b"));
	ck_assert_ptr_null(dav_path_decode("/a/./b"));
}
END_TEST

/* 10 MB of responses, each with 1 KB of data, fed in 4 KB pieces: every
 * response reaches the callback and nothing is kept between them. */
START_TEST(test_large)
{
	size_t n = 10000, cap = n * 1200 + 200, len = 0;
	char *doc = xmalloc(cap), pad[1025];
	struct got g;
	char *err;

	memset(pad, 'x', 1024);
	pad[1024] = '\0';
	len += (size_t)snprintf(doc + len, cap - len, "<multistatus xmlns=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\">");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(doc + len, cap - len,
					"<response><href>/c/%zu.ics</href><propstat><prop><getetag>\"%zu\"</getetag>"
					"<C:calendar-data>%s</C:calendar-data></prop><status>HTTP/1.1 200 OK</status>"
					"</propstat></response>",
					i, i, pad);
	len += (size_t)snprintf(doc + len, cap - len, "</multistatus>");
	ck_assert_uint_gt(len, 10u << 20);
	ck_assert_msg(parse(doc, len, 4096, &g, &err, NULL) == 0, "%s", err ? err : "");
	ck_assert_int_eq(g.n, (int)n);
	ck_assert_uint_eq(g.bytes, n * 1024);
	free(doc);
}
END_TEST

/* Nesting far deeper than tracked, and one text larger than allowed. */
START_TEST(test_deep_big)
{
	size_t depth = 5000, cap = depth * 16 + 200, len = 0;
	char *doc = xmalloc(cap);
	struct got g;
	char *err;

	len += (size_t)snprintf(doc + len, cap - len, "<multistatus xmlns=\"DAV:\"><response>");
	for (size_t i = 0; i < depth; i++)
		len += (size_t)snprintf(doc + len, cap - len, "<a>");
	for (size_t i = 0; i < depth; i++)
		len += (size_t)snprintf(doc + len, cap - len, "</a>");
	len += (size_t)snprintf(doc + len, cap - len, "<href>/x</href></response></multistatus>");
	/* the levels below 64 are skipped, not tracked; the response after
	 * them is whole */
	ck_assert_msg(parse(doc, len, 512, &g, &err, NULL) == 0, "%s", err ? err : "");
	ck_assert_int_eq(g.n, 1);
	ck_assert_str_eq(g.href[0], "/x");
	free(doc);

	size_t big = DAV_XML_MAX_TEXT + 10;

	doc = xmalloc(big + 200);
	len = (size_t)snprintf(doc, 200, "<multistatus xmlns=\"DAV:\"><response><href>");
	memset(doc + len, 'a', big);
	len += big;
	len += (size_t)snprintf(doc + len, 100, "</href></response></multistatus>");
	ck_assert_int_eq(parse(doc, len, 65536, &g, &err, NULL), -1);
	ck_assert_ptr_nonnull(err);
	free(err);
	free(doc);
}
END_TEST

static int stop_cb(void *ctx, const struct dav_resp *r)
{
	return 1;
}

START_TEST(test_stop)
{
	static const char doc[] = "<multistatus xmlns=\"DAV:\"><response><href>/a</href></response>"
				  "<response><href>/b</href></response></multistatus>";
	struct dav_xml *x = dav_xml_new(stop_cb, NULL);
	char *err = NULL;

	dav_xml_feed(x, doc, strlen(doc));
	ck_assert_int_eq(dav_xml_end(x, &err), -1);
	ck_assert_uint_eq(dav_xml_responses(x), 1);
	free(err);
	dav_xml_free(&x);
}
END_TEST

/* An item's name on the other side: its own when plain, else made from
 * its href's SHA-256 (never the collection itself, its parent or a path). */
START_TEST(test_item_href)
{
	static const char *const hostile[] = {"/u/c/..",  "/u/c/.",   "/u/c/%2e%2e", "/u/c/a%2Fb",
					      "/u/c/sub/", "/u/c/",    "/u/c/.x",     "/u/c/a b",
					      "/u/c/a\nb", "/u/c/a?b", "",            "/"};
	char *h = pc_item_href("/t/c/", "/u/c/0a1B-x_y~z@h+q=.ics", PIM_CAL);

	ck_assert_str_eq(h, "/t/c/0a1B-x_y~z@h+q=.ics");
	free(h);
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		h = pc_item_href("/t/c/", hostile[i], i % 2 ? PIM_CARD : PIM_CAL);
		ck_assert_uint_eq(strlen(h), strlen("/t/c/") + 64 + 4);
		ck_assert_str_eq(h + strlen(h) - 4, i % 2 ? ".vcf" : ".ics");
		ck_assert(strspn(h + 5, "0123456789abcdef") == 64);
		free(h);
	}
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_prefixes), CK_TEST(test_homes_token), CK_LOOP(test_hostile, hostile),
		CK_TEST(test_bad_hrefs), CK_TEST(test_paths),	    CK_TEST(test_large),
		CK_TEST(test_deep_big), CK_TEST(test_stop), CK_TEST(test_item_href),
	};

	return ck_run(CK_SUITE("dav_xml", "dav_xml", 60, tests));
}
