/*
 * bench/imap_client_etpan: a straightforward libetpan-based mover, for
 * bench/imap_client (issue 6: own IMAP client or libetpan, by measurement).
 * Built by that script by hand (cc ... $(pkg-config --cflags --libs
 * libetpan)), never by the Makefile; it is not part of fedmig.
 *
 *   imap_client_etpan move   SRCPORT SRCLOGIN DSTPORT DSTLOGIN [FOLDER]
 *   imap_client_etpan append DIR DSTPORT DSTLOGIN [FOLDER]
 *   imap_client_etpan fetch  SRCPORT SRCLOGIN [handler]
 *
 * The password is read from $ETPAN_PASS (never on the command line).
 * move:   log in to both, EXAMINE the source folder, SELECT the target
 *         folder, list the source UIDs, then per message
 *         UID FETCH uid (UID FLAGS INTERNALDATE BODY.PEEK[]) and
 *         mailimap_append() it with its flags and INTERNALDATE: one message
 *         at a time, which is all libetpan's API offers (mailimap_append
 *         takes the whole message as one buffer and sends a synchronising
 *         literal; there is no MULTIAPPEND and no way to pipeline).
 * append: APPEND every file of DIR (read whole, as the API needs), \Seen
 *         and a fixed INTERNALDATE: the target side alone.
 * fetch:  FETCH every message and drop it; with "handler" a
 *         mailimap_set_msg_body_handler() callback takes the body, to see
 *         whether the library still holds the whole literal in memory.
 * On stdout: "etpan MODE: msgs=N bytes=N secs=S".
 * With ETPAN_TRACE=1 the protocol is logged to stderr (literals and the
 * LOGIN command elided).
 */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libetpan/libetpan.h>

static void die(const char *what, int r)
{
	fprintf(stderr, "etpan: %s failed (%d)\n", what, r);
	exit(1);
}

static void trace(mailimap *s, int type, const char *str, size_t size, void *ctx)
{
	(void)s;
	(void)ctx;
	while (size > 0 && (str[size - 1] == '\n' || str[size - 1] == '\r'))
		size--;
	if (size > 200)
		fprintf(stderr, "[%d] <%zu bytes>\n", type, size);
	else if (memmem(str, size, " LOGIN ", 7) != NULL)
		fprintf(stderr, "[%d] <LOGIN, credentials elided>\n", type);
	else
		fprintf(stderr, "[%d] %.*s\n", type, (int)size, str);
}

static mailimap *login(int port, const char *user)
{
	const char *pass = getenv("ETPAN_PASS");
	mailimap *s = mailimap_new(0, NULL);
	int r;

	if (s == NULL || pass == NULL)
		die("mailimap_new / $ETPAN_PASS", -1);
	if (getenv("ETPAN_TRACE"))
		mailimap_set_logger(s, trace, NULL);
	r = mailimap_socket_connect(s, "127.0.0.1", (uint16_t)port);
	if (r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED && r != MAILIMAP_NO_ERROR_AUTHENTICATED)
		die("connect", r);
	r = mailimap_login(s, user, pass);
	if (r != MAILIMAP_NO_ERROR)
		die("login", r);
	return s;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Every UID of the examined folder, in a clist of uint32_t *. */
static clist *all_uids(mailimap *s)
{
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	struct mailimap_set *set = mailimap_set_new_interval(1, 0);
	clist *res = NULL, *uids = clist_new();
	clistiter *i, *j;
	int r;

	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	r = mailimap_fetch(s, set, ft, &res);
	if (r != MAILIMAP_NO_ERROR)
		die("FETCH 1:* (UID)", r);
	for (i = clist_begin(res); i; i = clist_next(i)) {
		struct mailimap_msg_att *ma = clist_content(i);
		for (j = clist_begin(ma->att_list); j; j = clist_next(j)) {
			struct mailimap_msg_att_item *it = clist_content(j);
			if (it->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC &&
			    it->att_data.att_static->att_type == MAILIMAP_MSG_ATT_UID) {
				uint32_t *u = malloc(sizeof *u);
				*u = it->att_data.att_static->att_data.att_uid;
				clist_append(uids, u);
			}
		}
	}
	mailimap_fetch_list_free(res);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	return uids;
}

static struct mailimap_flag *flag_copy(const struct mailimap_flag *f)
{
	switch (f->fl_type) {
	case MAILIMAP_FLAG_KEYWORD:
		return mailimap_flag_new(f->fl_type, strdup(f->fl_data.fl_keyword), NULL);
	case MAILIMAP_FLAG_EXTENSION:
		return mailimap_flag_new(f->fl_type, NULL, strdup(f->fl_data.fl_extension));
	default:
		return mailimap_flag_new(f->fl_type, NULL, NULL);
	}
}

static bool drop_body(int type, struct mailimap_msg_att_body_section *sec,
    const char *bytes, size_t len, void *ctx)
{
	(void)type;
	(void)sec;
	(void)bytes;
	*(size_t *)ctx += len;
	return true; /* handled: the library need not keep it */
}

/* UID FETCH uid (UID FLAGS INTERNALDATE BODY.PEEK[]); fills what is asked. */
static void fetch_one(mailimap *s, uint32_t uid, struct mailimap_flag_list **flags,
    struct mailimap_date_time **date, size_t *bytes, int do_append, mailimap *dst,
    const char *folder)
{
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	struct mailimap_set *set = mailimap_set_new_single(uid);
	struct mailimap_section *sec = mailimap_section_new(NULL);
	clist *res = NULL;
	clistiter *i, *j, *k;
	const char *body = NULL;
	size_t blen = 0;
	int r;

	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_flags());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_internaldate());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_body_peek_section(sec));
	r = mailimap_uid_fetch(s, set, ft, &res);
	if (r != MAILIMAP_NO_ERROR)
		die("UID FETCH", r);
	*flags = mailimap_flag_list_new_empty();
	*date = NULL;
	for (i = clist_begin(res); i; i = clist_next(i)) {
		struct mailimap_msg_att *ma = clist_content(i);
		for (j = clist_begin(ma->att_list); j; j = clist_next(j)) {
			struct mailimap_msg_att_item *it = clist_content(j);
			if (it->att_type == MAILIMAP_MSG_ATT_ITEM_DYNAMIC) {
				clist *fl = it->att_data.att_dyn->att_list;
				for (k = fl ? clist_begin(fl) : NULL; k; k = clist_next(k)) {
					struct mailimap_flag_fetch *ff = clist_content(k);
					if (ff->fl_type == MAILIMAP_FLAG_FETCH_OTHER && ff->fl_flag)
						mailimap_flag_list_add(*flags, flag_copy(ff->fl_flag));
				}
			} else if (it->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC) {
				struct mailimap_msg_att_static *st = it->att_data.att_static;
				if (st->att_type == MAILIMAP_MSG_ATT_INTERNALDATE) {
					struct mailimap_date_time *d = st->att_data.att_internal_date;
					*date = mailimap_date_time_new(d->dt_day, d->dt_month, d->dt_year,
					    d->dt_hour, d->dt_min, d->dt_sec, d->dt_zone);
				} else if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION) {
					body = st->att_data.att_body_section->sec_body_part;
					blen = st->att_data.att_body_section->sec_length;
				}
			}
		}
	}
	*bytes += blen;
	if (do_append) {
		if (body == NULL)
			die("FETCH returned no body", -1);
		/* the message is appended straight from libetpan's fetch buffer */
		r = mailimap_append(dst, folder, *flags, *date, body, blen);
		if (r != MAILIMAP_NO_ERROR)
			die("APPEND", r);
	}
	mailimap_fetch_list_free(res);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
}

/*
 * Every message of SRC's selected folder through fetch_one, appended to
 * DST's FOLDER when DST is not NULL; the number of messages.
 */
static size_t fetch_all(mailimap *src, size_t *bytes, mailimap *dst, const char *folder)
{
	clist *uids = all_uids(src);
	size_t n = 0;

	for (clistiter *i = clist_begin(uids); i; i = clist_next(i)) {
		struct mailimap_flag_list *fl;
		struct mailimap_date_time *dt;
		fetch_one(src, *(uint32_t *)clist_content(i), &fl, &dt, bytes, dst != NULL, dst,
		    folder);
		mailimap_flag_list_free(fl);
		if (dt)
			mailimap_date_time_free(dt);
		n++;
	}
	return n;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	size_t bytes = 0, msgs = 0;
	double t0;
	int r;

	if (strcmp(mode, "move") == 0 && argc >= 6) {
		const char *folder = argc > 6 ? argv[6] : "INBOX";
		t0 = now();
		mailimap *src = login(atoi(argv[2]), argv[3]);
		mailimap *dst = login(atoi(argv[4]), argv[5]);
		if ((r = mailimap_examine(src, folder)) != MAILIMAP_NO_ERROR)
			die("EXAMINE", r);
		if ((r = mailimap_select(dst, folder)) != MAILIMAP_NO_ERROR)
			die("SELECT", r);
		msgs += fetch_all(src, &bytes, dst, folder);
		mailimap_logout(src);
		mailimap_logout(dst);
		mailimap_free(src);
		mailimap_free(dst);
	} else if (strcmp(mode, "append") == 0 && argc >= 5) {
		const char *folder = argc > 5 ? argv[5] : "INBOX";
		DIR *d = opendir(argv[2]);
		struct dirent *de;
		char path[4096];
		if (d == NULL)
			die("opendir", -1);
		t0 = now();
		mailimap *dst = login(atoi(argv[3]), argv[4]);
		if ((r = mailimap_select(dst, folder)) != MAILIMAP_NO_ERROR)
			die("SELECT", r);
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s", argv[2], de->d_name);
			FILE *f = fopen(path, "rb");
			if (f == NULL)
				die(path, -1);
			fseek(f, 0, SEEK_END);
			long n = ftell(f);
			rewind(f);
			char *buf = malloc(n > 0 ? n : 1);
			if (fread(buf, 1, n, f) != (size_t)n)
				die("fread", -1);
			fclose(f);
			struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
			mailimap_flag_list_add(fl, mailimap_flag_new_seen());
			struct mailimap_date_time *dt = mailimap_date_time_new(1, 6, 2019, 12, 0, 0, 100);
			r = mailimap_append(dst, folder, fl, dt, buf, n);
			if (r != MAILIMAP_NO_ERROR)
				die("APPEND", r);
			mailimap_flag_list_free(fl);
			mailimap_date_time_free(dt);
			free(buf);
			bytes += n;
			msgs++;
		}
		closedir(d);
		mailimap_logout(dst);
		mailimap_free(dst);
	} else if (strcmp(mode, "fetch") == 0 && argc >= 4) {
		size_t handled = 0;
		t0 = now();
		mailimap *src = login(atoi(argv[2]), argv[3]);
		if (argc > 4 && strcmp(argv[4], "handler") == 0)
			mailimap_set_msg_body_handler(src, drop_body, &handled);
		if ((r = mailimap_examine(src, "INBOX")) != MAILIMAP_NO_ERROR)
			die("EXAMINE", r);
		msgs += fetch_all(src, &bytes, NULL, NULL);
		bytes += handled;
		mailimap_logout(src);
		mailimap_free(src);
	} else {
		fprintf(stderr, "usage: imap_client_etpan move SRCPORT SRCLOGIN DSTPORT DSTLOGIN [FOLDER]\n"
		    "       imap_client_etpan append DIR DSTPORT DSTLOGIN [FOLDER]\n"
		    "       imap_client_etpan fetch SRCPORT SRCLOGIN [handler]\n");
		return 2;
	}
	printf("etpan %s: msgs=%zu bytes=%zu secs=%.3f\n", mode, msgs, bytes, now() - t0);
	return 0;
}
