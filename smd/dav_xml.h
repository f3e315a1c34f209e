/*
 * dav_xml - a streaming parser of WebDAV multistatus responses (RFC 4918,
 * with CardDAV, CalDAV, RFC 6578 sync-collection and Apple's colour): the
 * body is fed in pieces as it arrives and each <response> is handed to the
 * callback as soon as it ends, so a 50 MB REPORT is never held whole.
 *
 * Hostile input: no DTD is accepted (a DOCTYPE stops the parse: no entity
 * is ever declared, so none is expanded, and nothing is fetched), text of
 * one element is limited to DAV_XML_MAX_TEXT bytes, nesting to 64 levels.
 * Elements are matched by namespace URI and local name, whatever the
 * prefixes. A property is taken only from a propstat whose status is 2xx.
 * Hrefs are reduced to their path and percent-decoded (dav_path_decode);
 * one that does not decode to a clean absolute path (NUL, "..", no leading
 * slash) makes the response's href NULL, which the callers skip.
 */
#ifndef FEDMIG_DAV_XML_H
#define FEDMIG_DAV_XML_H

#include <stddef.h>

#define DAV_XML_MAX_TEXT (8u << 20)

/* resourcetype bits */
enum {
	DAV_RT_COLLECTION = 1,
	DAV_RT_ADDRESSBOOK = 2,
	DAV_RT_CALENDAR = 4,
	DAV_RT_PRINCIPAL = 8,
};

/* One <response>. Fields the server did not send are NULL (0). */
struct dav_resp {
	char *href;   /* decoded path */
	int status;   /* the response's own <status>, 0 when it has propstats */
	char *etag;   /* getetag, quotes kept: it is sent back as is */
	char *data;   /* address-data or calendar-data */
	size_t data_len;
	char *displayname, *color, *description, *ctag, *sync_token;
	char *principal, *card_home, *cal_home; /* decoded paths */
	unsigned restype;
	unsigned comps; /* supported-calendar-component-set: 1 VEVENT 2 VTODO 4 VJOURNAL */
};

/* The callback: 0 to go on, non-zero stops the parse (dav_xml_end fails). */
typedef int (*dav_resp_fn)(void *ctx, const struct dav_resp *r);

struct dav_xml;

struct dav_xml *dav_xml_new(dav_resp_fn fn, void *ctx);
/* dav_xml_feed: LEN more bytes; -1 once the parse has failed. */
int dav_xml_feed(struct dav_xml *x, const char *buf, size_t len);
/* dav_xml_end: the end of the body: 0, or -1 with *ERR_R (caller frees)
 * when the XML was bad, cut, not a multistatus, or the callback stopped. */
int dav_xml_end(struct dav_xml *x, char **err_r);
/* dav_xml_sync_token: the multistatus's own sync-token (RFC 6578), or NULL. */
const char *dav_xml_sync_token(const struct dav_xml *x);
/* dav_xml_responses: how many responses were handed to the callback. */
size_t dav_xml_responses(const struct dav_xml *x);
void dav_xml_free(struct dav_xml **x);

/* dav_path_decode: the path of HREF (an absolute URL or a path),
 * percent-decoded; NULL when it is not a clean absolute path. */
char *dav_path_decode(const char *href);
/* dav_path_encode: PATH percent-encoded for a URL: every byte but
 * unreserved ones and '/'. */
char *dav_path_encode(const char *path);

#endif
