/*
 * batch - the staged upload of one get-items action (batch.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "xalloc.h"

struct batch {
	int fd, body;
	off_t size;
	long long count, bytes;
	unsigned long long body_size;
	EVP_MD_CTX *md;
	char *key, *flags, *date;
};

/* tmpfile_in: an unnamed file in DIR. */
static int tmpfile_in(const char *dir, char **err_r)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		*err_r = xasprintf("agent_spool_directory %s: %s", dir, strerror(errno));
	return fd;
}

struct batch *batch_new(const char *spool, char **err_r)
{
	struct batch *b = xcalloc(1, sizeof(*b));

	b->body = -1;
	if ((b->fd = tmpfile_in(spool, err_r)) < 0 || (b->body = tmpfile_in(spool, err_r)) < 0) {
		batch_free(&b);
		return NULL;
	}
	b->md = EVP_MD_CTX_new();
	return b;
}

static void clear_item(struct batch *b)
{
	free(b->key);
	free(b->flags);
	free(b->date);
	b->key = b->flags = b->date = NULL;
}

void batch_free(struct batch **bp)
{
	struct batch *b = *bp;

	if (b == NULL)
		return;
	if (b->fd >= 0)
		close(b->fd);
	if (b->body >= 0)
		close(b->body);
	EVP_MD_CTX_free(b->md);
	clear_item(b);
	free(b);
	*bp = NULL;
}

int batch_begin(struct batch *b, const char *key, const char *flags, const char *date,
		char **err_r)
{
	clear_item(b);
	b->key = xstrdup(key);
	b->flags = xstrdup(flags);
	b->date = xstrdup(date);
	b->body_size = 0;
	if (ftruncate(b->body, 0) < 0 || lseek(b->body, 0, SEEK_SET) < 0 ||
	    EVP_DigestInit_ex(b->md, EVP_sha256(), NULL) != 1) {
		*err_r = xasprintf("scratch file: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* write_all: N bytes of D to FD. */
static int write_all(int fd, const char *d, size_t n, char **err_r)
{
	while (n > 0) {
		ssize_t w = write(fd, d, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			*err_r = xasprintf("write to agent_spool_directory: %s", strerror(errno));
			return -1;
		}
		d += w;
		n -= (size_t)w;
	}
	return 0;
}

int batch_data(struct batch *b, const char *d, size_t n, char **err_r)
{
	EVP_DigestUpdate(b->md, d, n);
	b->body_size += n;
	return write_all(b->body, d, n, err_r);
}

char *batch_header(const char *key, const char *flags, const char *date, unsigned long long size,
		   const char *sha256_hex)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:s}", "src", key, "flags", flags, "date",
			      date, "size", (json_int_t)size, "sha256", sha256_hex);
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	char *line = NULL;

	json_decref(j);
	if (s != NULL && strlen(s) < BATCH_HEADER_MAX)
		line = xasprintf("%s\n", s);
	free(s);
	return line;
}

/* copy_body: the scratch file to the end of the batch. */
static int copy_body(struct batch *b, char **err_r)
{
	char buf[65536];
	ssize_t n;

	if (lseek(b->body, 0, SEEK_SET) < 0) {
		*err_r = xasprintf("scratch file: %s", strerror(errno));
		return -1;
	}
	while ((n = read(b->body, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err_r = xasprintf("read the scratch file: %s", strerror(errno));
			return -1;
		}
		if (write_all(b->fd, buf, (size_t)n, err_r) < 0)
			return -1;
	}
	return 0;
}

int batch_end(struct batch *b, char **err_r)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0, i;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	char *line;

	EVP_DigestFinal_ex(b->md, md, &mdlen);
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[2 * mdlen] = '\0';
	line = batch_header(b->key, b->flags, b->date, b->body_size, hex);
	if (line == NULL) {
		*err_r = xasprintf("message %s: header line too long", b->key);
		return -1;
	}
	int rc = write_all(b->fd, line, strlen(line), err_r);

	if (rc == 0)
		rc = copy_body(b, err_r);
	if (rc == 0) {
		b->size += (off_t)(strlen(line) + b->body_size);
		b->count++;
		b->bytes += (long long)b->body_size;
	}
	free(line);
	return rc;
}

int batch_fd(const struct batch *b)
{
	return b->fd;
}

off_t batch_size(const struct batch *b)
{
	return b->size;
}

long long batch_count(const struct batch *b)
{
	return b->count;
}

long long batch_bytes(const struct batch *b)
{
	return b->bytes;
}
