/*
 * The IMAP driver (driver.h, drv_imap.c) against the in-process fake
 * server (fake_imap.h): every operation, started back to back (pipelined)
 * and collected in order, with what each callback saw.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckmain.h"
#include "drv_imap.h"
#include "fake_imap.h"
#include "imap.h"

/* What the callbacks saw. */
struct seen {
	char folders[512];
	int metas, bodies, ends;
	unsigned long long last_uid;
	char bytes[1024];
	size_t nbytes;
};

static int on_folder(void *ctx, const struct drv_folder *f)
{
	struct seen *s = ctx;
	size_t n = strlen(s->folders);

	snprintf(s->folders + n, sizeof(s->folders) - n, "%s%s%s", n ? " " : "",
		 f->subscribed ? "+" : "", f->name);
	return 0;
}

static int on_meta(void *ctx, const struct drv_meta *m)
{
	struct seen *s = ctx;

	s->metas++;
	s->last_uid = m->uid;
	return 0;
}

static int on_body(void *ctx, const struct drv_body *b)
{
	struct seen *s = ctx;

	ck_assert(b->has_uid);
	s->bodies++;
	return 0;
}

static int on_data(void *ctx, const char *d, size_t n, int end)
{
	struct seen *s = ctx;

	if (s->nbytes + n < sizeof(s->bytes)) {
		memcpy(s->bytes + s->nbytes, d, n);
		s->nbytes += n;
	}
	s->ends += end;
	return 0;
}

static struct imap_conn *login(struct fake_imap *srv)
{
	struct imap_opts o = {fake_imap_url(srv), IMAP_TLS_NONE, 0, NULL, 5000};
	char *err = NULL;
	struct imap_conn *c = imap_connect(&o, &err);

	ck_assert_msg(c != NULL, "connect: %s", err ? err : "");
	ck_assert_int_eq(imap_login(c, "u", NULL, NULL, "p"), 0);
	return c;
}

START_TEST(test_ops)
{
	struct fake_model m = {0};
	struct fake_folder *in = fake_folder_add(&m, "INBOX", 7);
	struct seen s = {0}, sf = {0}; /* the fetch's apart: its answer may come early */
	struct drv_cb cb = {.ctx = &s, .folder = on_folder, .meta = on_meta, .body = on_body,
			    .data = on_data};
	struct drv_cb fcb = cb;
	struct drv_result res;

	in->subscribed = 1;
	fake_msg_add(in, "Subject: a\r\n\r\nA\r\n", 17, "\\Seen", "01-Feb-2021 10:00:00 +0000");
	fake_msg_add(in, "Subject: b\r\n\r\nBB\r\n", 18, "", "01-Feb-2021 10:00:01 +0000");
	fake_folder_add(&m, "Work", 9);
	struct fake_imap *srv = fake_imap_start(&m, NULL);
	struct imap_conn *c = login(srv);
	struct drv *d = drv_imap_new(c);
	const struct drv_ops *ops = d->ops;

	/* Four operations in flight before the first answer is read. */
	unsigned l = ops->list(d, DRV_LIST_SUBS, &cb);
	unsigned how = DRV_OPEN_WRITE | DRV_OPEN_META | DRV_OPEN_PERMFLAGS;
	unsigned o = ops->open(d, "INBOX", how, &cb);
	fcb.ctx = &sf;
	unsigned f = ops->fetch(d, "1:2", DRV_FETCH_BODY, &fcb);
	unsigned st = ops->store_flags(d, 2, "\\Flagged");

	ck_assert(l && o && f && st);
	ck_assert_int_eq(ops->flush(d), 0);
	ck_assert_int_eq(ops->wait(d, l, &res), 0);
	ck_assert_int_eq(res.status, DRV_OK);
	ck_assert_str_eq(s.folders, "INBOX Work +INBOX");
	ck_assert_int_eq(ops->wait(d, o, &res), 0);
	ck_assert_int_eq(res.status, DRV_OK);
	ck_assert(res.box && res.box->uidvalidity == 7 && res.box->exists == 2);
	ck_assert(res.box->permflags && strstr(res.box->permflags, "\\*"));
	ck_assert_int_eq(s.metas, 2);
	ck_assert_int_eq(ops->wait(d, f, &res), 0);
	ck_assert_int_eq(res.status, DRV_OK);
	ck_assert_int_eq(s.metas, 2);
	ck_assert_int_eq(sf.bodies, 2);
	ck_assert_int_eq(sf.ends, 2);
	ck_assert_int_eq(sf.metas, 2); /* each body's response, complete */
	ck_assert_uint_eq(sf.nbytes, 35);
	ck_assert(memcmp(sf.bytes, "Subject: a\r\n\r\nA\r\nSubject: b", 27) == 0);
	ck_assert_int_eq(ops->wait(d, st, &res), 0);
	ck_assert_int_eq(res.status, DRV_OK);

	/* A batch of two, its UIDs learnt; then CREATE, SUBSCRIBE, a refusal. */
	unsigned a = ops->append_start(d, "Work");

	ck_assert(a != 0);
	ck_assert_int_eq(ops->append_msg(d, a, "\\Seen", "01-Feb-2021 10:00:02 +0000", 3), 0);
	ck_assert_int_eq(ops->append_data(d, "x\r\n", 3), 0);
	ck_assert_int_eq(ops->append_msg(d, a, "", "01-Feb-2021 10:00:03 +0000", 3), 0);
	ck_assert_int_eq(ops->append_data(d, "y\r\n", 3), 0);
	ck_assert_int_eq(ops->append_end(d, a), 0);
	unsigned cr = ops->create(d, "New"), sub = ops->subscribe(d, "New");
	unsigned no = ops->open(d, "Nonesuch", 0, &cb);

	ck_assert_int_eq(ops->wait(d, a, &res), 0);
	ck_assert_int_eq(res.status, DRV_OK);
	ck_assert(res.uids != NULL && res.nuids == 2 && res.uidvalidity == 9);
	ck_assert(res.uids[0] == 1 && res.uids[1] == 2);
	ck_assert_int_eq(ops->wait(d, cr, &res), 0);
	ck_assert_int_eq(res.status, DRV_OK);
	ck_assert_int_eq(ops->wait(d, sub, &res), 0);
	ck_assert_int_eq(res.status, DRV_OK);
	ck_assert_int_eq(ops->wait(d, no, &res), 0);
	ck_assert_int_eq(res.status, DRV_NO);
	ck_assert_int_eq(ops->done(d, no), 1);
	ops->free(d); /* and the connection */
	fake_imap_stop(&srv);
	fake_model_free(&m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("drv_imap");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_ops);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
