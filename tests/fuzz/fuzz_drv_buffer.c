/* libFuzzer: the buffer driver (smd/drv_buffer.h) fetching a UID set
 * the input begins with from a batch file holding the rest of it, whose
 * items' rows say sizes and offsets that may lie (past the end, a wrong
 * hash). Whatever happens, no body gets more bytes than its size, none is
 * ended unless its bytes match their hash, and a failure says why. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "drv_buffer.h"
#include "store.h"
#include "store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/fedmig-fuzz-drv-buffer.XXXXXX";
static struct store *st;

struct got {
	unsigned long long left;
	int open;
};

static int on_body(void *ctx, const struct drv_body *b)
{
	struct got *g = ctx;

	if (g->open)
		abort();
	g->left = b->size;
	g->open = 1;
	return 0;
}

static int on_data(void *ctx, const char *d, size_t n, int end)
{
	struct got *g = ctx;

	if (!g->open || n > g->left || (end && n != g->left))
		abort();
	g->left -= n;
	g->open = !end;
	return 0;
}

/* cleanup: at exit, the temporary store and spool. */
static void cleanup(void)
{
	static const char *const files[] = {"9/1.batch", "9", "t.db-wal", "t.db-shm", "t.db"};
	char path[200];

	store_close(&st);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (unlink(path) < 0)
			rmdir(path);
	}
	rmdir(dir);
}

static void init(void)
{
	char path[200], *err = NULL;

	if (mkdtemp(dir) == NULL)
		abort();
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/t.db", dir);
	st = store_open(path, STORE_RDWR, 1000, &err);
	snprintf(path, sizeof(path), "%s/9", dir);
	if (st == NULL || mkdir(path, 0700) < 0)
		abort();
	sqlite3_exec(store_db(st),
		     "INSERT INTO agent_folders(request_id, folder) VALUES(9, 'INBOX');"
		     "INSERT INTO agent_batches(id, request_id, seq, folder, path, items, duplicates,"
		     " bytes, live, created) VALUES(1, 9, 1, 'INBOX', '9/1.batch', 3, 0, 0, 3, 0);",
		     NULL, NULL, NULL);
}

#define DATE "'01-Jan-2020 10:00:00 +0000'"

/* items: three rows over the file of LEN bytes: right, wrong hash, past the end. */
static void items(const uint8_t *body, size_t len)
{
	unsigned char sha[32];
	char sql[400];
	sqlite3_stmt *q;

	EVP_Digest(body, len / 2, sha, NULL, EVP_sha256(), NULL);
	sqlite3_exec(store_db(st), "DELETE FROM agent_items", NULL, NULL, NULL);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO agent_items(request_id, folder, uid, src_key, flags, date, size,"
		 " sha256, batch, offset) VALUES(9, 'INBOX', 1, 'a', '', " DATE ", %zu, ?1, 1, 0),"
		 " (9, 'INBOX', 2, 'b', '\\Seen', " DATE ", %zu, zeroblob(32), 1, %zu),"
		 " (9, 'INBOX', 3, 'c', '', " DATE ", 5, zeroblob(32), 1, %zu)",
		 len / 2, len - len / 2, len / 2, len);
	if (sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL) != SQLITE_OK)
		abort();
	sqlite3_bind_blob(q, 1, sha, 32, SQLITE_STATIC);
	sqlite3_step(q);
	sqlite3_finalize(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[200], set[256], *err = NULL;
	struct got g = {0};
	struct drv_cb cb = {.ctx = &g, .body = on_body, .data = on_data};
	struct drv_result res;

	if (st == NULL)
		init();
	if (size == 0)
		return 0;
	size_t n = data[0] < size - 1 ? data[0] : size - 1;

	memcpy(set, data + 1, n);
	set[n] = '\0';
	snprintf(path, sizeof(path), "%s/9/1.batch", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, data + 1 + n, size - 1 - n) != (ssize_t)(size - 1 - n))
		abort();
	close(fd);
	items(data + 1 + n, size - 1 - n);
	struct drv *d = drv_buffer_new(st, 9, dir, &err);

	if (d == NULL)
		abort();
	unsigned op = d->ops->open(d, "INBOX", DRV_OPEN_META, NULL);

	if (op == 0 || d->ops->wait(d, op, &res) < 0)
		abort();
	op = d->ops->fetch(d, set, DRV_FETCH_BODY, &cb);
	if (op != 0 && d->ops->wait(d, op, &res) < 0 && d->ops->error(d)[0] == '\0')
		abort();
	d->ops->free(d);
	return 0;
}
