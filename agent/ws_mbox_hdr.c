/*
 * ws_mbox_hdr - the parts of a Local Folders message the scanner reads:
 * the "From " line's date, the Date header, Thunderbird's status headers,
 * and what a message becomes for IMAP: flags, keywords, source key
 * (ws_mbox.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "ws_mbox.h"

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
static const char wdays[] = "MonTueWedThuFriSatSun";

/* A cursor over a NUL-terminated copy of the text. */
struct dc {
	const char *p;
};

static void sp(struct dc *c)
{
	while (*c->p == ' ' || *c->p == '\t')
		c->p++;
}

static int word3(struct dc *c, const char *set)
{
	const char *s;

	if (strlen(c->p) < 3)
		return -1;
	for (s = set; *s; s += 3)
		if (strncasecmp(c->p, s, 3) == 0) {
			c->p += 3;
			return (int)(s - set) / 3;
		}
	return -1;
}

/* num: 1 to MAXD digits, value in [LO, HI]. */
static int num(struct dc *c, int maxd, int lo, int hi, int *v)
{
	int d = 0;

	*v = 0;
	while (*c->p >= '0' && *c->p <= '9' && d < maxd) {
		*v = *v * 10 + (*c->p++ - '0');
		d++;
	}
	if (d == 0 || (*c->p >= '0' && *c->p <= '9') || *v < lo || *v > hi)
		return -1;
	return 0;
}

static int hms(struct dc *c, struct tm *tm)
{
	if (num(c, 2, 0, 23, &tm->tm_hour) < 0 || *c->p++ != ':' ||
	    num(c, 2, 0, 59, &tm->tm_min) < 0)
		return -1;
	tm->tm_sec = 0;
	if (*c->p == ':') {
		c->p++;
		return num(c, 2, 0, 60, &tm->tm_sec);
	}
	return 0;
}

/* zone: "+hhmm" or "-hhmm" into seconds east; absent or a name: 0. */
static int zone(struct dc *c, long *off)
{
	int sign, v;

	*off = 0;
	sp(c);
	if (*c->p != '+' && *c->p != '-')
		return 0;
	sign = *c->p++ == '-' ? -1 : 1;
	if (num(c, 4, 0, 2359, &v) < 0 || v % 100 > 59)
		return -1;
	*off = sign * ((v / 100) * 3600L + (v % 100) * 60L);
	return 0;
}

static int finish(struct tm *tm, long off, time_t *t)
{
	if (tm->tm_mday > 31 || tm->tm_year < 70 || tm->tm_year > 8099)
		return -1;
	*t = timegm(tm) - off;
	return *t < 0 ? -1 : 0;
}

/* ctime_at: "Www Mmm dd hh:mm[:ss] [ZONE] yyyy [+hhmm]" at C, to its end. */
static int ctime_at(struct dc *c, time_t *t)
{
	struct tm tm = {0};
	long off;

	if (word3(c, wdays) < 0 || (*c->p != ' ' && *c->p != ','))
		return -1;
	c->p += *c->p == ',';
	sp(c);
	if ((tm.tm_mon = word3(c, months)) < 0)
		return -1;
	sp(c);
	if (num(c, 2, 1, 31, &tm.tm_mday) < 0)
		return -1;
	sp(c);
	if (hms(c, &tm) < 0)
		return -1;
	sp(c);
	while ((*c->p >= 'A' && *c->p <= 'Z') || (*c->p >= 'a' && *c->p <= 'z'))
		c->p++; /* "CEST": a zone name, taken as UTC */
	sp(c);
	if (num(c, 4, 1970, 9999, &tm.tm_year) < 0 || zone(c, &off) < 0)
		return -1;
	sp(c);
	if (*c->p != '\0')
		return -1;
	tm.tm_year -= 1900;
	return finish(&tm, off, t);
}

int ws_from_line(const char *line, size_t n, time_t *t_r)
{
	char buf[WS_HEAD_MAX + 1];
	struct dc c;
	size_t i;

	if (n < 5 || n > WS_HEAD_MAX || memcmp(line, "From ", 5) != 0 || memchr(line, '\0', n))
		return -1;
	memcpy(buf, line, n);
	buf[n] = '\0';
	/* The sender is at least one word; the date is the rest. A sender
	 * with spaces in it ("From a b Mon ...") is tried at each space. */
	for (i = 6; i < n; i++) {
		if (buf[i - 1] != ' ' || buf[i] == ' ')
			continue;
		c.p = buf + i;
		if (ctime_at(&c, t_r) == 0)
			return 0;
	}
	return -1;
}

int ws_rfc5322_date(const char *s, size_t n, time_t *t_r)
{
	char buf[WS_HEAD_MAX + 1];
	struct tm tm = {0};
	struct dc c;
	long off;

	if (n > WS_HEAD_MAX || memchr(s, '\0', n))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	c.p = buf;
	sp(&c);
	if (word3(&c, wdays) >= 0) {
		if (*c.p++ != ',')
			return -1;
		sp(&c);
	}
	if (num(&c, 2, 1, 31, &tm.tm_mday) < 0)
		return -1;
	sp(&c);
	if ((tm.tm_mon = word3(&c, months)) < 0)
		return -1;
	sp(&c);
	if (num(&c, 4, 0, 9999, &tm.tm_year) < 0)
		return -1;
	/* RFC 5322 4.3: two digits are 1950-2049, three add 1900. */
	tm.tm_year += tm.tm_year < 50 ? 2000 : tm.tm_year < 1000 ? 1900 : 0;
	tm.tm_year -= 1900;
	sp(&c);
	if (hms(&c, &tm) < 0 || zone(&c, &off) < 0)
		return -1;
	return finish(&tm, off, t_r);
}

static int hexfield(const char *s, size_t n, unsigned long *v)
{
	char buf[16], *end;

	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	if (n == 0 || n > 8)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*v = strtoul(buf, &end, 16);
	return *end == '\0' && buf[0] != '-' && buf[0] != '+' ? 0 : -1;
}

/* An IMAP atom that may be a keyword: no specials, no '\' (system flags). */
static int atom_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f ||
		    strchr("(){%*\"\\]", s[i]) != NULL)
			return 0;
	return 1;
}

static void keywords(struct ws_msg *m, const char *s, size_t n)
{
	size_t i = 0, j, k;

	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		for (j = i; j < n && s[j] != ' ' && s[j] != '\t' && s[j] != '\r'; j++)
			;
		k = strlen(m->keywords);
		if (j > i && atom_ok(s + i, j - i) && k + (j - i) + 2 <= WS_KW_MAX) {
			if (k > 0)
				m->keywords[k++] = ' ';
			memcpy(m->keywords + k, s + i, j - i);
			m->keywords[k + (j - i)] = '\0';
		}
		i = j;
	}
}

static int field(const char *line, size_t n, const char *name, const char **v, size_t *vn)
{
	size_t k = strlen(name);

	if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return 0;
	*v = line + k + 1;
	*vn = n - k - 1;
	return 1;
}

void ws_header(struct ws_msg *m, const char *line, size_t n)
{
	unsigned long v;
	const char *s;
	size_t sn;
	time_t t;

	if (field(line, n, "X-Mozilla-Status", &s, &sn) && hexfield(s, sn, &v) == 0) {
		m->flags |= (v & 0x1 ? WS_F_SEEN : 0) | (v & 0x2 ? WS_F_ANSWERED : 0) |
			    (v & 0x4 ? WS_F_FLAGGED : 0) | (v & 0x8 ? WS_F_DELETED : 0) |
			    (v & 0x1000 ? WS_F_FORWARDED : 0);
	} else if (field(line, n, "X-Mozilla-Status2", &s, &sn) && hexfield(s, sn, &v) == 0) {
		m->flags |= (v & 0x200000 ? WS_F_DELETED : 0) | (v & 0x800000 ? WS_F_MDNSENT : 0);
		m->label = (unsigned)(v >> 25) & 7;
	} else if (field(line, n, "X-Mozilla-Keys", &s, &sn)) {
		keywords(m, s, sn);
	} else if (field(line, n, "Date", &s, &sn) && m->date_src == WS_DATE_NONE &&
		   ws_rfc5322_date(s, sn, &t) == 0) {
		m->date = t;
		m->date_src = WS_DATE_HEADER;
	}
}

/* put: WORD after the words in BUF unless already there or no room. */
static void put(char *buf, size_t size, const char *word)
{
	size_t n = strlen(buf), w = strlen(word);
	const char *p;

	for (p = buf; (p = strstr(p, word)) != NULL; p += w)
		if ((p == buf || p[-1] == ' ') && (p[w] == ' ' || p[w] == '\0'))
			return;
	if (n + (n > 0) + w + 1 > size)
		return;
	if (n > 0)
		buf[n++] = ' ';
	memcpy(buf + n, word, w + 1);
}

void ws_msg_flags(const struct ws_msg *m, char *buf, size_t size)
{
	static const struct {
		unsigned bit;
		const char *name;
	} map[] = {{WS_F_SEEN, "\\Seen"},	  {WS_F_ANSWERED, "\\Answered"},
		   {WS_F_FLAGGED, "\\Flagged"},	  {WS_F_DELETED, "\\Deleted"},
		   {WS_F_FORWARDED, "$Forwarded"}, {WS_F_MDNSENT, "$MDNSent"}};
	char label[24], kw[WS_KW_MAX], *w, *save = NULL;
	size_t i;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (m->flags & map[i].bit)
			put(buf, size, map[i].name);
	if (m->label > 0) {
		snprintf(label, sizeof(label), "$label%u", m->label);
		put(buf, size, label);
	}
	snprintf(kw, sizeof(kw), "%s", m->keywords);
	for (w = strtok_r(kw, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
		put(buf, size, w);
}

static int id_ok(const char *id)
{
	size_t n = strlen(id), i;

	if (n == 0 || n > 64 || id[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= '0' && id[i] <= '9') || strchr("._,:=+-", id[i]) != NULL))
			return 0;
	return 1;
}

int ws_msg_key(const char *folder, const char *id, const struct ws_msg *m, char *buf,
	       size_t size)
{
	unsigned char fh[EVP_MAX_MD_SIZE];
	unsigned int fl = 0;
	char off[24], hex[65];
	size_t i;

	if (id == NULL) {
		snprintf(off, sizeof(off), "%llu", m->off);
		id = off;
	}
	if (!id_ok(id) ||
	    EVP_Digest(folder, strlen(folder), fh, &fl, EVP_sha256(), NULL) != 1 || fl < 8)
		return -1;
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", m->sha256[i]);
	if ((size_t)snprintf(buf, size, "%02x%02x%02x%02x%02x%02x%02x%02x.%s.%s", fh[0], fh[1],
			     fh[2], fh[3], fh[4], fh[5], fh[6], fh[7], id, hex) >= size)
		return -1;
	return 0;
}
