/*
 * pim_item: contacts and calendar objects checked, normalised for the
 * target and hashed. Positive cases (photo shrunk under the limit, missing
 * VTIMEZONE added, RECURRENCE-ID moved to the master's zone across a DST
 * change, a Radicale-style re-serialisation hashing the same, a real change
 * hashing differently) and hostile ones (4 MB, NUL, bad UTF-8, unclosed
 * nesting, bad base64, unknown zones, 1,000 exceptions); the parse+hash rate
 * of 5,000 contacts is printed.
 */
#include <check.h>
#include <gd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckmain.h"
#include "pim_item.h"
#include "pim_photo.h"
#include "vcard.h"

static const struct pim_target keep = {0, 0};

static struct pim_item make_ok(enum pim_kind k, const char *text, size_t len,
			       const struct pim_target *t)
{
	struct pim_item it;
	char *err = NULL;

	ck_assert_msg(pim_item_make(k, text, len, t, &it, &err) == 0, "refused: %s", err);
	ck_assert_uint_eq(strlen(it.text), it.len);
	return it;
}

static char *make_err(enum pim_kind k, const char *text, size_t len)
{
	struct pim_item it;
	char *err = NULL;

	ck_assert_int_eq(pim_item_make(k, text, len, &keep, &it, &err), -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_null(it.text);
	return err;
}

static const char card30[] = "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Source//EN\r\n"
			     "UID:c-1\r\nFN:Ægir Øster\r\nN:Øster;Ægir;;;\r\n"
			     "EMAIL;TYPE=INTERNET;TYPE=HOME:aegir@example.org\r\n"
			     "item1.ADR;TYPE=home:;;Rue de l'Église 3;Paris;;75001;France\r\n"
			     "item1.X-ABLABEL:chez moi\r\n"
			     "NOTE:Première ligne\\nseconde\\, avec une virgule et un texte assez "
			     "long pour être plié\r\n"
			     "REV:2024-03-01T10:20:30Z\r\nEND:VCARD\r\n";

START_TEST(test_card_basic)
{
	struct pim_item it = make_ok(PIM_CARD, card30, strlen(card30), &keep);

	ck_assert_str_eq(it.uid, "c-1");
	ck_assert_str_eq(it.fixes, "");
	ck_assert_int_eq(it.modified, 1709288430);
	ck_assert_msg(strstr(it.text, "\r\nitem1.X-ABLABEL:chez moi\r\n"), "%s", it.text);
	pim_item_free(&it);
	pim_item_free(&it); /* twice is harmless */
}
END_TEST

/* radicalise: TEXT written as another server might: LF lines, folded at
 * WIDTH, parameters in another order and case, PRODID/REV/DTSTAMP changed. */
static char *radicalise(const char *text, int width)
{
	struct vc_lines l = {0};
	struct vc_buf b = {0};
	char *err = NULL;

	ck_assert_int_eq(vc_parse(text, strlen(text), &l, &err), 0);
	for (size_t i = 0; i < l.n; i++) {
		struct vc_prop *p = &l.a[i];
		struct vc_buf line = {0};

		if (strcmp(p->name, "PRODID") == 0)
			vc_set_value(p, "-//Radicale//NONSGML//EN", 24);
		if (strcmp(p->name, "REV") == 0 || strcmp(p->name, "DTSTAMP") == 0)
			vc_set_value(p, "20991231T235959Z", 16);
		if (p->group)
			vc_buf_adds(&line, p->group), vc_buf_addc(&line, '.');
		vc_buf_adds(&line, p->name);
		for (size_t j = p->np; j-- > 0;) {
			vc_buf_addc(&line, ';');
			for (const char *q = p->p[j].name; *q; q++)
				vc_buf_addc(&line, (char)(*q | 0x20));
			vc_buf_addc(&line, '=');
			for (size_t k = 0; k < p->p[j].nv; k++) {
				vc_buf_adds(&line, k ? "," : "");
				vc_buf_adds(&line, p->p[j].v[k]);
			}
		}
		vc_buf_addc(&line, ':');
		vc_buf_add(&line, p->value, p->vlen);
		for (size_t o = 0; o < line.n; o += (size_t)width) {
			vc_buf_adds(&b, o ? "\n " : "");
			vc_buf_add(&b, line.p + o, line.n - o < (size_t)width ? line.n - o : (size_t)width);
		}
		vc_buf_addc(&b, '\n');
		vc_buf_free(&line);
	}
	vc_lines_free(&l);
	return b.p;
}

static void same_hash(enum pim_kind k, const char *text)
{
	struct pim_item it = make_ok(k, text, strlen(text), &keep);
	unsigned char h[32];

	for (int width = 20; width <= 80; width += 30) {
		char *r = radicalise(it.text, width);

		ck_assert_int_eq(pim_hash(k, r, strlen(r), h), 0);
		ck_assert_msg(memcmp(h, it.hash, 32) == 0, "width %d:\n%s\nvs\n%s", width, it.text, r);
		free(r);
	}
	ck_assert_int_eq(pim_hash(k, text, strlen(text), h), 0);
	pim_item_free(&it);
}

START_TEST(test_hash_card)
{
	const char *other = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c-1\r\nNOTE:a\\,b\\N\r\nN:a;b\r\n"
			    "EMAIL;type=home,internet:aegir@example.org\r\nEND:VCARD\r\n";
	const char *other2 = "BEGIN:VCARD\nVERSION:3.0\nEMAIL;TYPE=INTERNET;TYPE=HOME:aegir@"
			     "example.org\nNOTE:a,b\\n\nUID:c-1\nN:a;b;;;\nPRODID:x\nEND:VCARD\n";
	unsigned char h1[32], h2[32];

	same_hash(PIM_CARD, card30);
	ck_assert_int_eq(pim_hash(PIM_CARD, other, strlen(other), h1), 0);
	ck_assert_int_eq(pim_hash(PIM_CARD, other2, strlen(other2), h2), 0);
	ck_assert(memcmp(h1, h2, 32) == 0);
}
END_TEST

/* pim_diff_props: what a server changed in what it was given, by property
 * name: Radicale 3.1 cutting 4.0 URI values at their first comma; the same
 * item serialised otherwise differs in nothing; garbage is NULL. */
START_TEST(test_diff_props)
{
	static const char sent[] = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:u1\r\nFN:Zoë\r\n"
				   "PHOTO:data:image/jpeg;base64,/9j/4AAQ\r\n"
				   "item1.URL:http://x.example/a,b\r\nREV:20300101T000000Z\r\n"
				   "END:VCARD\r\n";
	static const char cut[] = "BEGIN:VCARD\nVERSION:4.0\nFN:Zoë\nUID:u1\n"
				  "PHOTO:data:image/jpeg\\;base64\nitem1.URL:http://x.example/a\n"
				  "REV:20310101T000000Z\nPRODID:-//Radicale//\nEND:VCARD\n";
	static const char same[] = "BEGIN:VCARD\nUID:u1\nVERSION:4.0\nfn:Zoë\n"
				   "PHOTO:data:image/jpeg;base64,/9j/4AAQ\n"
				   "ITEM1.URL:http://x.example/a,b\nEND:VCARD\n";
	char *d = pim_diff_props(sent, strlen(sent), cut, strlen(cut));

	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d, "PHOTO, URL");
	free(d);
	d = pim_diff_props(sent, strlen(sent), same, strlen(same));
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d, "");
	free(d);
	ck_assert_ptr_null(pim_diff_props(sent, strlen(sent), "BEGIN:VCARD\nFN", 14));
}
END_TEST

START_TEST(test_hash_change)
{
	static const char *changes[][2] = {
		{"FN:Ægir Øster", "FN:Ægir Østar"},
		{"TYPE=HOME:aegir", "TYPE=WORK:aegir"},
		{"item1.X-ABLABEL", "item2.X-ABLABEL"},
		{"Église 3;Paris", "Église 3,Paris"},
	};
	struct pim_item a = make_ok(PIM_CARD, card30, strlen(card30), &keep);

	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		char buf[1024], *p;
		unsigned char h[32];

		snprintf(buf, sizeof(buf), "%s", card30);
		p = strstr(buf, changes[i][0]);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(strlen(changes[i][0]), strlen(changes[i][1]));
		memcpy(p, changes[i][1], strlen(changes[i][1]));
		ck_assert_int_eq(pim_hash(PIM_CARD, buf, strlen(buf), h), 0);
		ck_assert_msg(memcmp(h, a.hash, 32) != 0, "change %zu hashes the same", i);
	}
	pim_item_free(&a);
}
END_TEST

START_TEST(test_card_refused)
{
	static const char nouid[] = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nEND:VCARD\r\n";
	static const char nul[] = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a\0b\r\nEND:VCARD\r\n";
	size_t big = PIM_ITEM_MAX + 1;
	char *t = malloc(big), *err;

	err = make_err(PIM_CARD, nouid, strlen(nouid));
	ck_assert_str_eq(err, "no UID");
	free(err);
	err = make_err(PIM_CARD, nul, sizeof(nul) - 1);
	ck_assert_msg(strstr(err, "NUL byte"), "%s", err);
	free(err);
	memset(t, 'a', big);
	err = make_err(PIM_CARD, t, big);
	ck_assert_str_eq(err, "more than 4 MB");
	free(err);
	free(t);
	ck_assert_ptr_null(pim_uid(PIM_CARD, nul, sizeof(nul) - 1));
}
END_TEST

/* noise_jpeg: a JPEG of random pixels of at least MIN bytes; *LEN_R. */
static unsigned char *noise_jpeg(size_t min, size_t *len_r)
{
	for (int side = 800;; side += 200) {
		gdImagePtr im = gdImageCreateTrueColor(side, side);
		int size = 0;
		void *jpg;
		unsigned char *r;

		srand(7);
		for (int y = 0; y < side; y++)
			for (int x = 0; x < side; x++)
				gdImageSetPixel(im, x, y, rand() & 0xffffff);
		jpg = gdImageJpegPtr(im, &size, 95);
		gdImageDestroy(im);
		ck_assert_ptr_nonnull(jpg);
		if ((size_t)size < min) {
			gdFree(jpg);
			continue;
		}
		r = malloc((size_t)size);
		memcpy(r, jpg, (size_t)size);
		gdFree(jpg);
		*len_r = (size_t)size;
		return r;
	}
}

static char *photo_card(const unsigned char *d, size_t n)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct vc_buf b = {0};

	vc_buf_adds(&b, "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:photo\r\nFN:P\r\nPHOTO;ENCODING=b;TYPE=JPEG:");
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? d[i + 1] << 8 : 0) |
			     (i + 2 < n ? d[i + 2] : 0);
		char q[4] = {b64[v >> 18], b64[(v >> 12) & 63], i + 1 < n ? b64[(v >> 6) & 63] : '=',
			     i + 2 < n ? b64[v & 63] : '='};

		vc_buf_add(&b, q, 4);
	}
	vc_buf_adds(&b, "\r\nEND:VCARD\r\n");
	return b.p;
}

/* photo_size: the decoded size of the PHOTO in TEXT (3.0 or 4.0 form). */
static size_t photo_size(const char *text)
{
	struct vcard c;
	struct vc_prop *p;
	char *err = NULL;
	const char *b;
	unsigned char *d;
	size_t n = 0;

	ck_assert_int_eq(vcard_parse(text, strlen(text), &c, &err), 0);
	p = vcard_find(&c, "PHOTO");
	ck_assert_ptr_nonnull(p);
	b = strncmp(p->value, "data:", 5) == 0 ? strchr(p->value, ',') + 1 : p->value;
	d = pim_b64_decode(b, strlen(b), &n);
	ck_assert_ptr_nonnull(d);
	ck_assert(d[0] == 0xff && d[1] == 0xd8);
	free(d);
	vcard_free(&c);
	return n;
}

START_TEST(test_photo_shrunk)
{
	size_t n, limit = 256 * 1024;
	unsigned char *jpg = noise_jpeg(2 << 20, &n);
	char *card = photo_card(jpg, n), want[80];
	struct pim_target t30 = {30, limit}, t40 = {40, limit};
	struct pim_item it = make_ok(PIM_CARD, card, strlen(card), &t30), it4;

	snprintf(want, sizeof(want), "PHOTO shrunk %zu -> ", n);
	ck_assert_msg(strncmp(it.fixes, want, strlen(want)) == 0, "%s", it.fixes);
	ck_assert_uint_le(photo_size(it.text), limit);
	it4 = make_ok(PIM_CARD, card, strlen(card), &t40);
	ck_assert_msg(strstr(it4.text, "PHOTO:data:image/jpeg;base64,/9j/"), "4.0 photo form");
	ck_assert_uint_le(photo_size(it4.text), limit);
	printf("photo: %zu bytes shrunk to %zu (limit %zu)\n", n, photo_size(it.text), limit);
	pim_item_free(&it);
	pim_item_free(&it4);
	free(card);
	free(jpg);
}
END_TEST

/* padded_jpeg: a 16x16 JPEG padded with comment segments to about SIZE
 * bytes (a photo heavy with metadata, as pim_copy's fixture); *LEN_R. */
static unsigned char *padded_jpeg(size_t size, size_t *len_r)
{
	gdImagePtr im = gdImageCreateTrueColor(16, 16);
	int n = 0;
	void *jpg;
	unsigned char *r;
	size_t o = 2;

	gdImageFilledRectangle(im, 0, 0, 15, 15, 0x3366cc);
	jpg = gdImageJpegPtr(im, &n, 90);
	gdImageDestroy(im);
	ck_assert_ptr_nonnull(jpg);
	r = malloc(size + 65537 + (size_t)n);
	memcpy(r, jpg, 2); /* SOI, then comments, then the rest */
	while (o < size) {
		r[o] = 0xff, r[o + 1] = 0xfe, r[o + 2] = 0xff, r[o + 3] = 0xff;
		memset(r + o + 4, 'x', 65533);
		o += 65537;
	}
	memcpy(r + o, (unsigned char *)jpg + 2, (size_t)n - 2);
	*len_r = o + (size_t)n - 2;
	gdFree(jpg);
	return r;
}

/* A decodable photo of few pixels over the limit is re-encoded at its own
 * size (the padding goes), not dropped; one that cannot fit is dropped with
 * what the smallest try gave. */
START_TEST(test_photo_padded)
{
	size_t n, limit = 256 * 1024;
	unsigned char *jpg = padded_jpeg(2 << 20, &n);
	char *card = photo_card(jpg, n), want[80];
	struct pim_target t = {30, limit}, tiny = {30, 100};
	const char *drop = "PHOTO dropped: it could not be made small enough (16x16: ";
	struct pim_item it = make_ok(PIM_CARD, card, strlen(card), &t);

	snprintf(want, sizeof(want), "PHOTO shrunk %zu -> ", n);
	ck_assert_msg(strncmp(it.fixes, want, strlen(want)) == 0, "%s", it.fixes);
	ck_assert_uint_le(photo_size(it.text), 4096);
	pim_item_free(&it);
	it = make_ok(PIM_CARD, card, strlen(card), &tiny);
	ck_assert_msg(strncmp(it.fixes, drop, strlen(drop)) == 0, "%s", it.fixes);
	ck_assert_ptr_null(strstr(it.text, "PHOTO"));
	pim_item_free(&it);
	free(card);
	free(jpg);
}
END_TEST

static const struct {
	const char *value, *fix;
} badphotos[] = {
	{"PHOTO;ENCODING=b:!!!!not base64!!!!", "PHOTO dropped: not valid base64 (limit 8 bytes)"},
	{"PHOTO;ENCODING=b:SGVsbG8gd29ybGQsIG5vdCBhbiBpbWFnZQ==",
	 "PHOTO dropped: not a JPEG, PNG or GIF image (limit 8 bytes)"},
	{"PHOTO:data:image/jpeg;base64,/9j/4AAQSkZJRgABAQAAAQABAAD/2wBD",
	 "PHOTO dropped: not a JPEG, PNG or GIF image (limit 8 bytes)"},
	{"PHOTO;ENCODING=b:iVBORw0KGgoAAAANSUhEUgAAf/8AAH//CAIAAAA=",
	 "PHOTO dropped: an image too large in pixels to decode (limit 8 bytes)"},
	{"PHOTO;VALUE=uri:http://example.org/a-very-long-url-to-a-photo.jpg", ""},
};

START_TEST(test_photo_bad)
{
	struct pim_target t = {0, 8};
	char card[512];
	struct pim_item it;

	snprintf(card, sizeof(card), "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:x\r\n%s\r\nEND:VCARD\r\n",
		 badphotos[_i].value);
	it = make_ok(PIM_CARD, card, strlen(card), &t);
	ck_assert_str_eq(it.fixes, badphotos[_i].fix);
	ck_assert(strstr(it.text, "PHOTO") == NULL || !*badphotos[_i].fix);
	pim_item_free(&it);
}
END_TEST

#define CAL_HEAD "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n"

START_TEST(test_cal_vtimezone)
{
	static const char ev[] = CAL_HEAD "BEGIN:VEVENT\r\nDTSTAMP:20240101T000000Z\r\n"
				 "LAST-MODIFIED:20240102T030405Z\r\n"
				 "DTSTART;TZID=Europe/Paris:20240301T100000\r\n"
				 "DTEND;TZID=Mars/Olympus:20240301T110000\r\n"
				 "BEGIN:VALARM\r\nUID:alarm-1\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\n"
				 "END:VALARM\r\nUID:e-1\r\nSUMMARY:Réunion\r\n"
				 "ATTENDEE;CN=Bob:mailto:bob@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
	struct pim_item it = make_ok(PIM_CAL, ev, strlen(ev), &keep);
	char *uid = pim_uid(PIM_CAL, ev, strlen(ev));

	ck_assert_str_eq(it.uid, "e-1");
	ck_assert_str_eq(uid, "e-1");
	ck_assert_int_eq(it.modified, 1704164645);
	ck_assert_str_eq(it.fixes, "VTIMEZONE Europe/Paris added; TZID Mars/Olympus names no known "
				   "zone: left without VTIMEZONE");
	ck_assert_msg(strstr(it.text, "BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\n"), "%s", it.text);
	ck_assert_msg(strstr(it.text, "ATTENDEE;CN=Bob:mailto:bob@example.org"), "%s", it.text);
	ck_assert(strstr(it.text, "METHOD") == NULL);
	free(uid);
	pim_item_free(&it);
}
END_TEST

/* Master in Paris from 1 March (UTC+1); exceptions in New York and UTC after
 * both zones went to summer time (Paris UTC+2 from 31 March). */
START_TEST(test_cal_recurrence_id)
{
	static const char ev[] =
		CAL_HEAD "BEGIN:VEVENT\r\nUID:r-1\r\nDTSTART;TZID=Europe/Paris:20240301T100000\r\n"
			 "RRULE:FREQ=WEEKLY\r\nSUMMARY:weekly\r\nEND:VEVENT\r\n"
			 "BEGIN:VEVENT\r\nUID:r-1\r\nRECURRENCE-ID;TZID=America/New_York:20240405T040000\r\n"
			 "DTSTART;TZID=Europe/Paris:20240405T110000\r\nSUMMARY:moved\r\nEND:VEVENT\r\n"
			 "BEGIN:VEVENT\r\nUID:r-1\r\nRECURRENCE-ID:20240412T080000Z\r\n"
			 "DTSTART;TZID=Europe/Paris:20240412T120000\r\nSUMMARY:moved\r\nEND:VEVENT\r\n"
			 "BEGIN:VEVENT\r\nUID:r-1\r\nRECURRENCE-ID;TZID=Europe/Paris:20240419T100000\r\n"
			 "DTSTART;TZID=Europe/Paris:20240419T120000\r\nSUMMARY:same\r\nEND:VEVENT\r\n"
			 "END:VCALENDAR\r\n";
	struct pim_item it = make_ok(PIM_CAL, ev, strlen(ev), &keep);
	int events = 0;

	ck_assert_msg(strstr(it.text, "RECURRENCE-ID;TZID=Europe/Paris:20240405T100000\r\n"), "%s",
		      it.text);
	ck_assert_msg(strstr(it.text, "RECURRENCE-ID;TZID=Europe/Paris:20240412T100000\r\n"), "%s",
		      it.text);
	ck_assert_msg(strstr(it.fixes, "RECURRENCE-ID of 2 exceptions put in Europe/Paris (master's "
					"zone)"),
		      "%s", it.fixes);
	for (const char *p = it.text; (p = strstr(p, "BEGIN:VEVENT")); p++)
		events++;
	ck_assert_int_eq(events, 4); /* one resource, never split */
	pim_item_free(&it);
}
END_TEST

START_TEST(test_cal_recurrence_date)
{
	static const char ev[] =
		CAL_HEAD "BEGIN:VEVENT\r\nUID:d-1\r\nDTSTART;VALUE=DATE:20240301\r\n"
			 "RRULE:FREQ=WEEKLY\r\nSUMMARY:all day\r\nEND:VEVENT\r\n"
			 "BEGIN:VEVENT\r\nUID:d-1\r\nRECURRENCE-ID;TZID=Europe/Paris:20240308T000000\r\n"
			 "DTSTART;VALUE=DATE:20240309\r\nSUMMARY:moved\r\nEND:VEVENT\r\n"
			 "END:VCALENDAR\r\n";
	struct pim_item it = make_ok(PIM_CAL, ev, strlen(ev), &keep);

	ck_assert_msg(strstr(it.text, "RECURRENCE-ID;VALUE=DATE:20240308\r\n"), "%s", it.text);
	ck_assert_str_eq(it.fixes, "RECURRENCE-ID of 1 exception made a date (all-day master)");
	pim_item_free(&it);
}
END_TEST

START_TEST(test_cal_windows_zone)
{
	static const char ev[] =
		CAL_HEAD "BEGIN:VEVENT\r\nUID:w-1\r\n"
			 "DTSTART;TZID=W. Europe Standard Time:20240301T100000\r\n"
			 "RRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\n"
			 "BEGIN:VEVENT\r\nUID:w-1\r\nRECURRENCE-ID:20240405T080000Z\r\n"
			 "DTSTART;TZID=W. Europe Standard Time:20240405T110000\r\nEND:VEVENT\r\n"
			 "END:VCALENDAR\r\n";
	struct pim_item it = make_ok(PIM_CAL, ev, strlen(ev), &keep);

	ck_assert_msg(strstr(it.text, "RECURRENCE-ID;TZID=W. Europe Standard Time:20240405T100000"),
		      "%s", it.text);
	ck_assert_msg(strstr(it.text, "BEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\n"), "%s",
		      it.text);
	ck_assert_str_eq(it.fixes, "RECURRENCE-ID of 1 exception put in W. Europe Standard Time "
				   "(master's zone); VTIMEZONE W. Europe Standard Time added "
				   "(Europe/Berlin)");
	pim_item_free(&it);
}
END_TEST

START_TEST(test_cal_many_exceptions)
{
	struct vc_buf b = {0};
	struct pim_item it;
	char line[256];
	clock_t t0 = clock();

	vc_buf_adds(&b, CAL_HEAD "BEGIN:VEVENT\r\nUID:m\r\nDTSTART:20240101T090000Z\r\n"
				 "RRULE:FREQ=DAILY\r\nEND:VEVENT\r\n");
	for (int i = 0; i < 1000; i++) {
		time_t s = 1704099600 + (time_t)i * 86400;
		struct tm tm;

		gmtime_r(&s, &tm);
		strftime(line, sizeof(line),
			 "BEGIN:VEVENT\r\nUID:m\r\nRECURRENCE-ID;TZID=Asia/Tokyo:%Y%m%dT%H%M%S\r\n", &tm);
		vc_buf_adds(&b, line);
		vc_buf_adds(&b, "SUMMARY:x\r\nEND:VEVENT\r\n");
	}
	vc_buf_adds(&b, "END:VCALENDAR\r\n");
	it = make_ok(PIM_CAL, b.p, b.n, &keep);
	ck_assert_msg(strstr(it.fixes, "RECURRENCE-ID of 1000 exceptions put in UTC"), "%s", it.fixes);
	printf("1,000 exceptions: %.2f s\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
	pim_item_free(&it);
	vc_buf_free(&b);
}
END_TEST

START_TEST(test_hash_cal)
{
	static const char ev[] = CAL_HEAD "BEGIN:VEVENT\r\nUID:h-1\r\nDTSTAMP:20240101T000000Z\r\n"
				 "DTSTART;TZID=Europe/Berlin;VALUE=DATE-TIME:20240301T100000\r\n"
				 "CATEGORIES:a,b\r\nEXDATE;TZID=Europe/Berlin:20240308T100000,"
				 "20240315T100000\r\nRRULE:FREQ=WEEKLY;BYDAY=FR,MO\r\n"
				 "SUMMARY:Über\\, alles\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\n"
				 "TRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
	unsigned char h1[32], h2[32];
	char *changed = strdup(ev);

	struct pim_item it = make_ok(PIM_CAL, ev, strlen(ev), &keep);

	same_hash(PIM_CAL, ev);
	ck_assert_int_eq(pim_hash(PIM_CAL, ev, strlen(ev), h1), 0);
	/* libical wrote CATEGORIES and EXDATE one value a line, added the zone:
	 * the meaning is the same */
	ck_assert_msg(memcmp(h1, it.hash, 32) == 0, "%s", it.text);
	ck_assert_str_eq(it.fixes, "VTIMEZONE Europe/Berlin added");
	pim_item_free(&it);
	memcpy(strstr(changed, "-PT15M"), "-PT16M", 6);
	ck_assert_int_eq(pim_hash(PIM_CAL, changed, strlen(changed), h2), 0);
	ck_assert(memcmp(h1, h2, 32) != 0);
	free(changed);
}
END_TEST

static const struct {
	const char *text, *err;
} badcals[] = {
	{"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "no VEVENT, VTODO or VJOURNAL"},
	{"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n", "a BEGIN without its END"},
	{"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VTODO\r\n", "line 3: END does not match"},
	{"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:\xc0\xaf\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
	 "not UTF-8"},
	{"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VCALENDAR\r\nBEGIN:VCALENDAR\r\n",
	 "line 5: not one VCALENDAR"},
	{"UID:x\r\n", "line 1: a property outside VCALENDAR"},
	{"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20240101T000000Z\r\nEND:VEVENT\r\n"
	 "END:VCALENDAR\r\n",
	 "no UID"},
	{"BEGIN:VCARD\r\nUID:x\r\nEND:VCARD\r\n", "line 1: not one VCALENDAR"},
	/* fuzz_ical found it: a UID with a form feed read back differently */
	{"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\fb\r\nEND:VEVENT\r\n"
	 "END:VCALENDAR\r\n",
	 "its UID holds a control character"},
	{"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\nBEGIN:VTODO\r\nUID:x\r\n"
	 "END:VTODO\r\nEND:VCALENDAR\r\n",
	 "line 5: events, to-dos or journal entries mixed"},
	{"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:y\r\n"
	 "END:VEVENT\r\nEND:VCALENDAR\r\n",
	 "components with different UIDs in one resource"},
	{"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:x\r\n"
	 "END:VEVENT\r\nEND:VCALENDAR\r\n",
	 "two components without RECURRENCE-ID"},
};

START_TEST(test_cal_refused)
{
	char *err = make_err(PIM_CAL, badcals[_i].text, strlen(badcals[_i].text));

	ck_assert_msg(strstr(err, badcals[_i].err), "%d: %s", _i, err);
	free(err);
}
END_TEST

START_TEST(test_cal_nested)
{
	struct vc_buf b = {0};
	unsigned char h[32];
	char *err;

	vc_buf_adds(&b, "BEGIN:VCALENDAR\r\n");
	for (int i = 0; i < 100000; i++)
		vc_buf_adds(&b, "BEGIN:VEVENT\r\n");
	err = make_err(PIM_CAL, b.p, b.n);
	ck_assert_msg(strstr(err, "line 9: components nested too deep"), "%s", err);
	free(err);
	ck_assert_int_eq(pim_hash(PIM_CAL, b.p, b.n, h), -1);
	vc_buf_free(&b);
}
END_TEST

START_TEST(test_cal_bad_values)
{
	static const char ev[] = CAL_HEAD "BEGIN:VEVENT\r\nUID:b\r\nDTSTART:notadate\r\n"
				 "RRULE:FREQ=NEVER;COUNT=-1\r\nSUMMARY:ok\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
	struct pim_item it = make_ok(PIM_CAL, ev, strlen(ev), &keep);

	ck_assert(strstr(it.text, "X-LIC-ERROR") == NULL);
	ck_assert_msg(strstr(it.fixes, "libical could not read dropped"), "%s", it.fixes);
	pim_item_free(&it);
}
END_TEST

/* test_bench: parse+hash rate of 5,000 typical contacts (printed, not
 * asserted: the machine is shared). */
START_TEST(test_bench)
{
	enum { N = 5000 };
	char **cards = malloc(N * sizeof(*cards));
	struct pim_target t = {40, 0};
	struct timespec a, b;
	double s;

	for (int i = 0; i < N; i++)
		ck_assert_int_gt(asprintf(&cards[i],
				   "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:bench-%d@example.org\r\n"
				   "FN:Prénom%d Nom%d\r\nN:Nom%d;Prénom%d;;;\r\nORG:Société %d\r\n"
				   "EMAIL;TYPE=INTERNET,WORK:p%d@example.org\r\nTEL;TYPE=CELL:+33 6 %08d\r\n"
				   "ADR;TYPE=WORK:;;%d rue de la Paix;Paris;;75002;France\r\n"
				   "NOTE:Contact %d\\, créé pour le banc d'essai\r\n"
				   "REV:20240301T102030Z\r\nEND:VCARD\r\n",
				   i, i, i, i, i, i, i, i, i, i), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < N; i++) {
		struct pim_item it = make_ok(PIM_CARD, cards[i], strlen(cards[i]), &t);
		unsigned char h[32];

		ck_assert_int_eq(pim_hash(PIM_CARD, it.text, it.len, h), 0);
		pim_item_free(&it);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("bench pim_item: %d contacts parsed, converted to 4.0 and hashed in %.3f s: %.0f "
	       "items/s\n",
	       N, s, N / s);
	for (int i = 0; i < N; i++)
		free(cards[i]);
	free(cards);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_card_basic),    CK_TEST(test_hash_card),
		CK_TEST(test_hash_change),   CK_TEST(test_card_refused), CK_TEST(test_diff_props),
		CK_TEST(test_photo_shrunk),  CK_TEST(test_photo_padded),  CK_LOOP(test_photo_bad, badphotos),
		CK_TEST(test_cal_vtimezone), CK_TEST(test_cal_recurrence_id),
		CK_TEST(test_cal_recurrence_date), CK_TEST(test_cal_windows_zone),
		CK_TEST(test_cal_many_exceptions), CK_TEST(test_hash_cal),
		CK_LOOP(test_cal_refused, badcals), CK_TEST(test_cal_nested),
		CK_TEST(test_cal_bad_values), CK_TEST(test_bench),
	};

	return ck_run(CK_SUITE("pim_item", "core", 120, tests));
}
