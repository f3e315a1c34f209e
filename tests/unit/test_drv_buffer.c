/*
 * drv_buffer (smd/drv_buffer.h) over a temporary store whose buffer rows
 * are inserted by SQL, as fedmig-apid would, and real spool files: the
 * listing, an open's metadata, bodies in chunks, and every way a spool
 * file can be wrong (hash, missing, freed, "..", symbolic links). Then
 * the copy engine with it as the source against the in-process fake IMAP
 * target: passes, freeing, and items added between passes.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "buffer_job.h"
#include "ckmain.h"
#include "copy.h"
#include "drv_buffer.h"
#include "fake_imap.h"
#include "store.h"
#include "store_buffer.h"
#include "store_int.h"
#include "testutil.h"

#define REQ 42

static char dir[300], db[400], spool[400];
static struct store *st;

static void exec_sql(const char *sql)
{
	tu_exec(st, sql);
}

static void setup(void)
{
	char *err = NULL, req[500];

	tu_tmpdir(dir, sizeof(dir), "fedmig-test-drv-buffer", db, sizeof(db));
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	snprintf(req, sizeof(req), "%s/%d", spool, REQ);
	ck_assert(mkdir(spool, 0700) == 0 && mkdir(req, 0700) == 0);
	st = tu_store_open(db, STORE_RDWR, 2000, &err);
	ck_assert_msg(st != NULL, "%s", err ? err : "?");
	exec_sql("INSERT INTO agent_tasks(request_id, src_system, mailbox, phase, created, updated)"
		 " VALUES(42, 's1', 'alice@s1.example.org', 2, 1, 1)");
}

static void teardown(void)
{
	store_close(&st);
	tu_rmtree(dir);
}

static void add_folder(const char *name, unsigned attrs, int subscribed)
{
	struct db_stmt *q = db_prepare(store_dbh(st), "INSERT INTO agent_folders(request_id, folder,"
						      " sep, attrs, subscribed) VALUES(42, ?1, '/', ?2, ?3)");

	ck_assert_ptr_nonnull(q);
	db_bind_text(q, 1, name);
	db_bind_int64(q, 2, attrs);
	db_bind_int64(q, 3, subscribed);
	ck_assert_int_eq(db_step(q), DB_DONE);
	db_reset(q);
}

static void add_item(long long batch, const char *folder, unsigned uid, const char *body,
		     size_t len, long long offset, const char *flags)
{
	unsigned char sha[32];
	struct db_stmt *q;
	char key[32];

	EVP_Digest(body, len, sha, NULL, EVP_sha256(), NULL);
	snprintf(key, sizeof(key), "k%lld.%u", batch, uid);
	q = db_prepare(store_dbh(st), "INSERT INTO agent_items(request_id, folder, uid, src_key,"
				      " flags, date, size, sha256, batch, \"offset\") VALUES(42, ?1,"
				      " ?2, ?3, ?4, '01-Jan-2020 10:00:00 +0000', ?5, ?6, ?7, ?8)");
	ck_assert_ptr_nonnull(q);
	db_bind_text(q, 1, folder);
	db_bind_int64(q, 2, uid);
	db_bind_text(q, 3, key);
	db_bind_text(q, 4, flags);
	db_bind_int64(q, 5, (long long)len);
	db_bind_blob(q, 6, sha, 32);
	db_bind_int64(q, 7, batch);
	db_bind_int64(q, 8, offset);
	ck_assert_msg(db_step(q) == DB_DONE, "%s", db_errmsg(store_dbh(st)));
	db_reset(q);
}

/*
 * add_batch: batch SEQ of FOLDER: N messages (message k: "body of SEQ.k",
 * or BIG bytes when k == 0 and BIG > 0), UIDs from FIRST, in a real file.
 */
static void add_batch(int seq, const char *folder, unsigned first, int n, size_t big)
{
	char path[600], rel[64], sql[300];
	long long off = 0;
	FILE *fp;

	snprintf(rel, sizeof(rel), "%d/%d.batch", REQ, seq);
	snprintf(path, sizeof(path), "%s/%s", spool, rel);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO agent_batches(id, request_id, seq, folder, path, items, duplicates,"
		 " bytes, live, created) VALUES(%d, 42, %d, '%s', '%s', %d, 0, 0, %d, 1)",
		 seq, seq, folder, rel, n, n);
	exec_sql(sql);
	for (int k = 0; k < n; k++) {
		char small[200];
		char *body = small;
		size_t len;

		if (k == 0 && big > 0) {
			body = malloc(big);
			ck_assert_ptr_nonnull(body);
			for (size_t i = 0; i < big; i++)
				body[i] = (char)('a' + i % 26);
			len = big;
		} else {
			len = (size_t)snprintf(small, sizeof(small),
					       "Subject: %d.%d\r\nMessage-ID: <%d.%d@t>\r\n\r\nbody of "
					       "%d.%d\r\n",
					       seq, k, seq, k, seq, k);
		}
		ck_assert_uint_eq(fwrite(body, 1, len, fp), len);
		add_item(seq, folder, first + (unsigned)k, body, len, off,
			 k % 2 ? "\\Seen $label1" : "");
		off += (long long)len;
		if (body != small)
			free(body);
	}
	ck_assert_int_eq(fclose(fp), 0);
}

static struct drv *new_drv(void)
{
	char *err = NULL;
	struct drv *d = drv_buffer_new(st, REQ, spool, &err);

	ck_assert_msg(d != NULL, "%s", err ? err : "?");
	return d;
}

/* ------------------------------------------------------------ driver */

struct seen {
	char log[2000];
	size_t n;
	unsigned long long msgs, bytes, metas, bodies, chunks, body_bytes;
	int ended;
	EVP_MD_CTX *md;
};

static int on_folder(void *ctx, const struct drv_folder *f)
{
	struct seen *s = ctx;

	s->n += (size_t)snprintf(s->log + s->n, sizeof(s->log) - s->n, "%s%s:%u:%d", s->n ? " " : "",
				 f->name, f->attrs, f->subscribed);
	return 0;
}

static int on_count(void *ctx, unsigned long long msgs, unsigned long long bytes)
{
	struct seen *s = ctx;

	s->msgs += msgs;
	s->bytes += bytes;
	return 0;
}

static int on_meta(void *ctx, const struct drv_meta *m)
{
	struct seen *s = ctx;

	s->metas++;
	s->n += (size_t)snprintf(s->log + s->n, sizeof(s->log) - s->n, "%s%llu/%llu:%llu:%.*s",
				 s->n ? " " : "", m->seq, m->uid, m->size,
				 m->flags ? (int)m->flags_len : 1, m->flags ? m->flags : "-");
	return 0;
}

static int on_body(void *ctx, const struct drv_body *b)
{
	struct seen *s = ctx;

	ck_assert(b->has_uid);
	s->bodies++;
	s->ended = 0;
	return 0;
}

static int on_data(void *ctx, const char *d, size_t n, int end)
{
	struct seen *s = ctx;

	s->chunks++;
	s->body_bytes += n;
	s->ended = end;
	if (s->md)
		EVP_DigestUpdate(s->md, d, n);
	return 0;
}

/* run_op: OP of D to completion; the wait's return. */
static int run_op(struct drv *d, unsigned op, struct drv_result *res)
{
	ck_assert_uint_ne(op, 0);
	ck_assert_int_eq(d->ops->flush(d), 0);
	return d->ops->wait(d, op, res);
}

START_TEST(test_list)
{
	struct seen s = {0};
	struct drv_cb cb = {.ctx = &s, .folder = on_folder, .count = on_count};
	struct drv_result res;

	add_folder("INBOX", 0, 1);
	add_folder("Work", 0, 0);
	add_folder("Gone", DRV_F_NOSELECT | DRV_F_NONEXISTENT, 1);
	add_folder("Parent", DRV_F_NOSELECT, 0);
	add_batch(1, "INBOX", 1, 3, 0);
	add_batch(2, "Work", 1, 2, 0);
	struct drv *d = new_drv();

	ck_assert_int_eq(run_op(d, d->ops->list(d, DRV_LIST_SUBS | DRV_LIST_COUNTS, &cb), &res), 0);
	ck_assert_int_eq(res.status, DRV_OK);
	ck_assert_uint_eq(res.counted, DRV_COUNT_MESSAGES | DRV_COUNT_BYTES);
	ck_assert_str_eq(s.log, "Gone:3:1 INBOX:0:0 INBOX:0:1 Parent:1:0 Work:0:0");
	ck_assert_uint_eq(s.msgs, 5);
	ck_assert_uint_gt(s.bytes, 5 * 40);
	d->ops->free(d);
}
END_TEST

START_TEST(test_open_meta)
{
	struct seen s = {0};
	struct drv_cb cb = {.ctx = &s, .meta = on_meta};
	struct drv_result res;

	add_folder("INBOX", 0, 1);
	add_folder("Parent", DRV_F_NOSELECT, 0);
	add_batch(1, "INBOX", 1, 2, 0);
	struct drv *d = new_drv();
	unsigned o1 = d->ops->open(d, "INBOX", DRV_OPEN_META, &cb);
	unsigned o2 = d->ops->open(d, "Parent", 0, NULL);
	unsigned o3 = d->ops->open(d, "Nowhere", 0, NULL);

	ck_assert(!d->ops->done(d, o1));
	ck_assert_int_eq(run_op(d, o1, &res), 0);
	ck_assert_int_eq(res.status, DRV_OK);
	ck_assert_uint_eq(res.box->uidvalidity, 1);
	ck_assert_uint_eq(res.box->exists, 2);
	ck_assert_str_eq(s.log, "1/1:50: 2/2:50:\\Seen $label1");
	ck_assert_int_eq(d->ops->poll(d, 1), 0); /* runs o2 */
	ck_assert(d->ops->done(d, o2) && !d->ops->done(d, o3));
	ck_assert_int_eq(run_op(d, o2, &res), 0);
	ck_assert_int_eq(res.status, DRV_NO);
	ck_assert_int_eq(run_op(d, o3, &res), 0);
	ck_assert_int_eq(res.status, DRV_NO);
	/* Read-only: every writing operation fails the driver. */
	ck_assert_uint_eq(d->ops->append_start(d, "INBOX"), 0);
	ck_assert(strstr(d->ops->error(d), "read-only") != NULL);
	ck_assert_uint_eq(d->ops->check(d), 0);
	d->ops->free(d);
}
END_TEST

START_TEST(test_fetch_chunks)
{
	struct seen s = {.md = EVP_MD_CTX_new()};
	struct drv_cb cb = {.ctx = &s, .meta = on_meta, .body = on_body, .data = on_data};
	struct drv_result res;
	const size_t big = 300000;
	unsigned char want[32], got[32];
	char *body = malloc(big);

	add_folder("INBOX", 0, 1);
	add_batch(1, "INBOX", 1, 3, big);
	for (size_t i = 0; i < big; i++)
		body[i] = (char)('a' + i % 26);
	EVP_Digest(body, big, want, NULL, EVP_sha256(), NULL);
	free(body);
	struct drv *d = new_drv();

	ck_assert_int_eq(run_op(d, d->ops->open(d, "INBOX", DRV_OPEN_META, NULL), &res), 0);
	EVP_DigestInit_ex(s.md, EVP_sha256(), NULL);
	ck_assert_int_eq(run_op(d, d->ops->fetch(d, "1", DRV_FETCH_BODY, &cb), &res), 0);
	ck_assert_int_eq(res.status, DRV_OK);
	EVP_DigestFinal_ex(s.md, got, NULL);
	ck_assert(memcmp(got, want, 32) == 0);
	ck_assert_uint_eq(s.bodies, 1);
	ck_assert_uint_ge(s.chunks, 5); /* 64 KiB at most each */
	ck_assert_uint_eq(s.body_bytes, big);
	ck_assert(s.ended);
	ck_assert_uint_eq(s.metas, 1);
	s.n = 0;
	s.log[0] = '\0';
	ck_assert_int_eq(run_op(d, d->ops->fetch(d, "2:*", DRV_FETCH_FLAGS | DRV_FETCH_SIZE, &cb),
			       &res),
			 0);
	ck_assert_str_eq(s.log, "0/2:50:\\Seen $label1 0/3:50:");
	ck_assert_uint_eq(d->ops->fetch(d, "1:x", DRV_FETCH_BODY, &cb) != 0, 1);
	ck_assert_int_eq(d->ops->poll(d, 1), -1);
	ck_assert(strstr(d->ops->error(d), "bad UID set") != NULL);
	d->ops->free(d);
	EVP_MD_CTX_free(s.md);
}
END_TEST

/* fetch_fails: fetching UID 1 of INBOX fails the driver with WHY. */
static void fetch_fails(const char *why)
{
	struct seen s = {0};
	struct drv_cb cb = {.ctx = &s, .meta = on_meta, .body = on_body, .data = on_data};
	struct drv_result res;
	struct drv *d = new_drv();

	ck_assert_int_eq(run_op(d, d->ops->open(d, "INBOX", DRV_OPEN_META, NULL), &res), 0);
	ck_assert_int_eq(run_op(d, d->ops->fetch(d, "1", DRV_FETCH_BODY, &cb), &res), -1);
	ck_assert_msg(strstr(d->ops->error(d), why) != NULL, "error: %s", d->ops->error(d));
	/* The last chunk of a bad body is never given: the literal is never complete. */
	ck_assert(!s.ended);
	ck_assert_uint_eq(s.metas, 0);
	d->ops->free(d);
}

/* one_message: INBOX with one message in batch 1; its file's path in PATH. */
static void one_message(char path[600])
{
	add_folder("INBOX", 0, 1);
	add_batch(1, "INBOX", 1, 1, 0);
	snprintf(path, 600, "%s/%d/1.batch", spool, REQ);
}

START_TEST(test_hash_mismatch)
{
	char path[600];
	int fd;

	one_message(path);
	fd = open(path, O_WRONLY);
	ck_assert(fd >= 0 && pwrite(fd, "X", 1, 3) == 1);
	close(fd);
	fetch_fails("do not match their SHA-256");
}
END_TEST

START_TEST(test_short_file)
{
	char path[600];

	one_message(path);
	ck_assert_int_eq(truncate(path, 20), 0);
	fetch_fails("ends inside the message");
}
END_TEST

START_TEST(test_missing_and_freed)
{
	char path[600];

	one_message(path);
	ck_assert_int_eq(unlink(path), 0);
	fetch_fails("No such file");
	exec_sql("UPDATE agent_items SET freed = 1");
	fetch_fails("freed from the data buffer");
}
END_TEST

/* open_fails: opening INBOX with its metadata fails the driver with WHY. */
static void open_fails(const char *why)
{
	struct drv_result res;
	struct drv *d = new_drv();

	ck_assert_int_eq(run_op(d, d->ops->open(d, "INBOX", DRV_OPEN_META, NULL), &res), -1);
	ck_assert_msg(strstr(d->ops->error(d), why) != NULL, "error: %s", d->ops->error(d));
	d->ops->free(d);
}

START_TEST(test_hostile_meta)
{
	static const char *const bad_flags[] = {"\\Seen) A1 DELETE INBOX", "a\r\nb", "\\",
						"{5}", "x\"y", "%", "caf\xc3\xa9"};
	char path[600], sql[200];

	one_message(path);
	for (size_t i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		struct db_stmt *q = db_prepare(store_dbh(st), "UPDATE agent_items SET flags = ?1");

		ck_assert_ptr_nonnull(q);
		db_bind_text(q, 1, bad_flags[i]);
		ck_assert_int_eq(db_step(q), DB_DONE);
		db_reset(q);
		open_fails("a bad flag");
	}
	exec_sql("UPDATE agent_items SET flags = '\\Seen $Label_1 \\Answered'");
	snprintf(sql, sizeof(sql), "UPDATE agent_items SET date = '%s'", "32-Jan-2020 10:00:00 +0000");
	exec_sql(sql);
	open_fails("a bad date");
	exec_sql("UPDATE agent_items SET date = '01-Jan-2020 10:00:00 +0000\r\nA1 LOGOUT'");
	open_fails("a bad date");
}
END_TEST

START_TEST(test_bad_paths)
{
	static const char *const bad[] = {"42/../1.batch", "../42/1.batch", "/etc/passwd",
					  "43/1.batch",	   "42/1.batch/x",  "42/1.tmp",
					  "42/.batch",	   "42//1.batch",   ""};
	char path[600], sql[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!drv_buffer_path_ok(bad[i], REQ), "%s accepted", bad[i]);
	ck_assert(drv_buffer_path_ok("42/17.batch", REQ));
	add_folder("INBOX", 0, 1);
	add_batch(1, "INBOX", 1, 1, 0);
	exec_sql("UPDATE agent_batches SET path = '42/../42/1.batch'");
	fetch_fails("bad path");
	/* A symbolic link as the batch file, then as the request's directory. */
	snprintf(path, sizeof(path), "%s/%d/7.batch", spool, REQ);
	ck_assert_int_eq(symlink("1.batch", path), 0);
	snprintf(sql, sizeof(sql), "UPDATE agent_batches SET path = '%d/7.batch'", REQ);
	exec_sql(sql);
	fetch_fails("Too many levels");
	char real[600], link[600];

	snprintf(real, sizeof(real), "%s/real", spool);
	snprintf(link, sizeof(link), "%s/%d", spool, REQ);
	ck_assert_int_eq(rename(link, real), 0);
	ck_assert_int_eq(symlink("real", link), 0);
	exec_sql("UPDATE agent_batches SET path = '42/1.batch'");
	fetch_fails("spool directory 42");
}
END_TEST

/* ------------------------------------------------------------ the copy engine */

static struct drv *factory(void *ctx, struct store *s, char **err_r)
{
	return drv_buffer_new(s, REQ, ctx, err_r);
}

/* pass: one copy_mailbox from the buffer to the fake target DST. */
static int pass(struct fake_model *dst, struct copy_result *r)
{
	static volatile sig_atomic_t stop;
	struct fake_imap *srv = fake_imap_start(dst, NULL);
	struct copy_opts o;

	ck_assert_ptr_nonnull(srv);
	memset(&o, 0, sizeof(o));
	o.dst.imap = (struct imap_opts){fake_imap_url(srv), IMAP_TLS_NONE, 0, NULL, 5000};
	o.dst.user = "alice@s2.example.org";
	o.dst.password = "secret";
	o.src_driver = factory;
	o.src_driver_ctx = spool;
	o.store = st;
	o.mailbox_key = "k";
	o.window = 1 << 20;
	o.batch = 2;
	o.lanes = 1;
	o.store_busy_ms = 2000;
	o.stop = &stop;
	int rc = copy_mailbox(&o, r);

	fake_imap_stop(&srv);
	ck_assert_msg(rc == COPY_OK, "pass failed: %s", r->reason);
	return rc;
}

START_TEST(test_engine_passes)
{
	struct fake_model dst = {0};
	struct copy_result r;
	char **paths = NULL;
	long long freed = 0, left = -1;

	fake_folder_add(&dst, "INBOX", 7); /* a server always has one */
	add_folder("INBOX", 0, 1);
	add_folder("Work", 0, 1);
	add_batch(1, "INBOX", 1, 3, 100000);
	add_batch(2, "Work", 1, 2, 0);
	pass(&dst, &r);
	ck_assert_int_eq(r.copied, 5);
	ck_assert_int_eq(r.verified, 2);
	struct fake_folder *in = fake_folder_find(&dst, "INBOX");

	ck_assert(in != NULL && in->n == 3 && fake_folder_find(&dst, "Work")->n == 2);
	ck_assert_uint_eq(in->m[0].len, 100000);
	ck_assert_str_eq(in->m[1].flags, "\\Seen $label1");
	ck_assert_str_eq(in->m[1].date, "01-Jan-2020 10:00:00 +0000");
	/* What the journal holds is freed; both batches are empty, their files to go. */
	ck_assert_int_eq(store_buffer_free(st, REQ, "k", &paths, &freed), STORE_OK);
	ck_assert_int_eq(freed, 5);
	ck_assert(paths[0] && paths[1] && !paths[2]);
	store_buffer_paths_free(paths);
	ck_assert_int_eq(store_buffer_free(st, REQ, "k", &paths, &freed), STORE_OK);
	ck_assert(freed == 0 && paths[0] == NULL);
	store_buffer_paths_free(paths);
	/* A second pass copies nothing (and never reads a freed body). */
	pass(&dst, &r);
	ck_assert_int_eq(r.copied, 0);
	ck_assert_int_eq(r.skipped, 5);
	/* Items uploaded between passes go with the next one. */
	add_batch(3, "INBOX", 4, 2, 0);
	pass(&dst, &r);
	ck_assert_int_eq(r.copied, 2);
	ck_assert_int_eq(r.skipped, 5);
	ck_assert_uint_eq(fake_folder_find(&dst, "INBOX")->n, 5);
	ck_assert_int_eq(store_buffer_unjournalled(st, REQ, "k", &left), STORE_OK);
	ck_assert_int_eq(left, 0);
	fake_model_free(&dst);
}
END_TEST

/* job: a buffer_job_run against the fake target DST; its result. */
static int job(struct fake_model *dst, long long idle_ms, struct copy_result *r)
{
	static volatile sig_atomic_t stop;
	struct fake_imap *srv;
	struct copy_opts o;
	struct buffer_job b = {REQ, spool, idle_ms, 50, 0};

	if (fake_folder_find(dst, "INBOX") == NULL)
		fake_folder_add(dst, "INBOX", 7);
	srv = fake_imap_start(dst, NULL);
	ck_assert_ptr_nonnull(srv);
	memset(&o, 0, sizeof(o));
	o.dst.imap = (struct imap_opts){fake_imap_url(srv), IMAP_TLS_NONE, 0, NULL, 5000};
	o.dst.user = "alice@s2.example.org";
	o.dst.password = "secret";
	o.store = st;
	o.mailbox_key = "k";
	o.window = 1 << 20;
	o.batch = 10;
	o.lanes = 1;
	o.stop = &stop;
	int rc = buffer_job_run(&b, &o, r);

	fake_imap_stop(&srv);
	return rc;
}

static int spool_files(void)
{
	char path[600];
	int n = 0;

	for (int seq = 1; seq <= 9; seq++) {
		snprintf(path, sizeof(path), "%s/%d/%d.batch", spool, REQ, seq);
		n += access(path, F_OK) == 0;
	}
	return n;
}

START_TEST(test_job_phases)
{
	struct copy_result r;
	struct fake_model dst = {0};

	add_folder("INBOX", 0, 1);
	add_batch(1, "INBOX", 1, 3, 0);
	/* Still uploading, then nothing new: the slot is given up, the buffer freed. */
	ck_assert_int_eq(job(&dst, 200, &r), BUFFER_JOB_IDLE);
	ck_assert_int_eq(r.copied, 3);
	ck_assert_int_eq(spool_files(), 0);
	/* Every folder uploaded: one pass and done. */
	exec_sql("UPDATE agent_tasks SET phase = 3");
	ck_assert_int_eq(job(&dst, 5000, &r), COPY_OK);
	ck_assert_int_eq(r.skipped, 3);
	ck_assert_uint_eq(fake_folder_find(&dst, "INBOX")->n, 3);
	/* Items in a folder the agent never listed: no pass can copy them. */
	add_batch(2, "Ghost", 1, 1, 0);
	ck_assert_int_eq(job(&dst, 5000, &r), COPY_FAILED);
	ck_assert_msg(strstr(r.reason, "1 messages in no folder") != NULL, "%s", r.reason);
	/* The agent failed: the job fails with its reason. */
	exec_sql("UPDATE agent_tasks SET phase = 4, reason = 'login refused by the local server'");
	ck_assert_int_eq(job(&dst, 5000, &r), COPY_FAILED);
	ck_assert_msg(strstr(r.reason, "login refused by the local server") != NULL, "%s", r.reason);
	fake_model_free(&dst);
}
END_TEST

START_TEST(test_job_items_arrive)
{
	struct copy_result r;
	struct fake_model dst = {0};
	pid_t pid;
	int status = 0;

	add_folder("INBOX", 0, 1);
	add_folder("Work", 0, 1);
	add_batch(1, "INBOX", 1, 2, 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The agent's upload, while the child waits: a store handle of its own. */
		char *err = NULL;

		usleep(400 * 1000);
		st = tu_store_open(db, STORE_RDWR, 2000, &err);
		if (st == NULL)
			_exit(1);
		add_batch(2, "Work", 1, 2, 0);
		add_batch(3, "INBOX", 3, 1, 0);
		exec_sql("UPDATE agent_tasks SET phase = 3");
		store_close(&st);
		_exit(0);
	}
	ck_assert_int_eq(job(&dst, 10000, &r), COPY_OK);
	ck_assert(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(r.copied + r.skipped, 5);
	ck_assert_int_eq(r.verified, 2);
	ck_assert_int_eq(spool_files(), 0);
	ck_assert_uint_eq(fake_folder_find(&dst, "INBOX")->n, 3);
	ck_assert_uint_eq(fake_folder_find(&dst, "Work")->n, 2);
	fake_model_free(&dst);
}
END_TEST

int main(void)
{
	const struct ck_test driver[] = {
		CK_TEST(test_list),	    CK_TEST(test_open_meta),	     CK_TEST(test_fetch_chunks),
		CK_TEST(test_hash_mismatch), CK_TEST(test_short_file),	     CK_TEST(test_missing_and_freed),
		CK_TEST(test_bad_paths),     CK_TEST(test_engine_passes), CK_TEST(test_job_phases),
		CK_TEST(test_job_items_arrive), CK_TEST(test_hostile_meta),
	};
	Suite *s = suite_create("drv_buffer");

	signal(SIGPIPE, SIG_IGN);
	tcase_add_checked_fixture(CK_TCASE(s, "driver", 30, driver), setup, teardown);
	return ck_run(s);
}
