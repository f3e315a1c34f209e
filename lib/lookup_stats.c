/*
 * lookup_stats - the lookup latency file of fedmig-policyd (contract in
 * lookup_stats.h). One table of fields, walked in order, serves both the
 * encoder and the strict decoder, so the two cannot drift apart.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lookup_stats.h"
#include "xalloc.h"

const double lookup_bounds_s[LOOKUP_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
						0.01,	0.025,	 0.05,	 0.1,	0.25};
const char *const lookup_kind_name[LOOKUP_KINDS] = {"socketmap", "policy"};

#define PER_KIND (LOOKUP_BUCKETS + 4)
#define NFIELDS (2 + LOOKUP_KINDS * PER_KIND)
#define NAME_MAX_LEN 40
#define VERSION 1

void lookup_stats_record(struct lookup_hist *h, long long ns, int error)
{
	int b = 0;

	if (h->count >= LOOKUP_VALUE_MAX) /* saturated: stays consistent */
		return;
	if (ns < 0)
		ns = 0;
	while (b < LOOKUP_BUCKETS && (double)ns > lookup_bounds_s[b] * 1e9)
		b++;
	h->bucket[b]++;
	h->count++;
	h->sum_ns = ns > LOOKUP_VALUE_MAX - h->sum_ns ? LOOKUP_VALUE_MAX : h->sum_ns + ns;
	if (error)
		h->errors++;
}

/* field: the name of field I of the file into NAME, and where its value lives. */
static long long *field(struct lookup_stats *st, long long *version, int i, char *name)
{
	static const char *const tail[] = {"count", "sum_ns", "errors"};
	struct lookup_hist *h;
	const char *kind;
	int j;

	if (i == 0) {
		snprintf(name, NAME_MAX_LEN, "version");
		return version;
	}
	if (i == 1) {
		snprintf(name, NAME_MAX_LEN, "time");
		return &st->time;
	}
	h = &st->k[(i - 2) / PER_KIND];
	kind = lookup_kind_name[(i - 2) / PER_KIND];
	j = (i - 2) % PER_KIND;
	if (j <= LOOKUP_BUCKETS) {
		snprintf(name, NAME_MAX_LEN, "%s_bucket_%d", kind, j);
		return &h->bucket[j];
	}
	j -= LOOKUP_BUCKETS + 1;
	snprintf(name, NAME_MAX_LEN, "%s_%s", kind, tail[j]);
	return j == 0 ? &h->count : j == 1 ? &h->sum_ns : &h->errors;
}

char *lookup_stats_encode(const struct lookup_stats *st)
{
	struct lookup_stats copy = *st;
	long long version = VERSION;
	char name[NAME_MAX_LEN], line[NAME_MAX_LEN + 24], *text = NULL;
	size_t len = 0;

	for (int i = 0; i < NFIELDS; i++) {
		long long *v = field(&copy, &version, i, name);
		int n = snprintf(line, sizeof(line), "%s %lld\n", name, *v);

		xappend(&text, &len, line, (size_t)n);
	}
	xappend(&text, &len, "", 1);
	return text;
}

/* value: "NAME SP digits LF" at *P (before END); the value, or -1. */
static long long value(const char **p, const char *end, const char *name)
{
	size_t nl = strlen(name), digits = 0;
	long long v = 0;
	const char *q = *p;

	if ((size_t)(end - q) < nl + 1 || memcmp(q, name, nl) != 0 || q[nl] != ' ')
		return -1;
	for (q += nl + 1; q < end && *q >= '0' && *q <= '9'; q++, digits++)
		if (digits < 18)
			v = v * 10 + (*q - '0');
	/* One spelling per value: no leading zero (the encoder writes none). */
	if (digits == 0 || digits > 18 || (digits > 1 && q[-(long)digits] == '0') || q >= end ||
	    *q != '\n')
		return -1;
	*p = q + 1;
	return v;
}

static int consistent(const struct lookup_stats *st, const char **why_r)
{
	for (int k = 0; k < LOOKUP_KINDS; k++) {
		const struct lookup_hist *h = &st->k[k];
		long long sum = 0;

		for (int b = 0; b <= LOOKUP_BUCKETS && sum <= h->count; b++)
			sum += h->bucket[b];
		if (sum != h->count) {
			*why_r = "a count is not the sum of its buckets";
			return -1;
		}
		if (h->errors > h->count) {
			*why_r = "more errors than lookups";
			return -1;
		}
	}
	return 0;
}

int lookup_stats_decode(const char *text, size_t len, struct lookup_stats *st,
			const char **why_r)
{
	const char *p = text, *end = text + len;
	char name[NAME_MAX_LEN];
	long long version = 0;

	if (len > LOOKUP_STATS_MAX) {
		*why_r = "too long";
		return -1;
	}
	for (int i = 0; i < NFIELDS; i++) {
		long long *v = field(st, &version, i, name);

		if ((*v = value(&p, end, name)) < 0) {
			*why_r = "a line is not the expected \"name value\" (damaged, or another version)";
			return -1;
		}
	}
	if (p != end) {
		*why_r = "text after the last line";
		return -1;
	}
	if (version != VERSION) {
		*why_r = "unknown version";
		return -1;
	}
	return consistent(st, why_r);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* make_temp: a new file of ours beside the final one; a stale one of
 * this pid (a crash) is removed once, anything else there is refused. */
static int make_temp(const char *tmp)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);

	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	return fd;
}

int lookup_stats_write(const char *dir, const struct lookup_stats *st, char **err_r)
{
	char *text = lookup_stats_encode(st);
	char *tmp = xasprintf("%s/.%s.%ld", dir, LOOKUP_STATS_FILE, (long)getpid());
	char *path = xasprintf("%s/%s", dir, LOOKUP_STATS_FILE);
	int fd = make_temp(tmp), rc = -1;

	if (fd < 0) {
		*err_r = xasprintf("cannot create %s: %s", tmp, strerror(errno));
	} else if (fchmod(fd, 0640) < 0 || write_all(fd, text, strlen(text)) < 0) {
		*err_r = xasprintf("cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
	} else if (close(fd) < 0 || rename(tmp, path) < 0) {
		*err_r = xasprintf("cannot put %s in place of %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
	} else {
		rc = 0;
	}
	free(text);
	free(tmp);
	free(path);
	return rc;
}

/* read_bounded: all of FD, refused past LOOKUP_STATS_MAX bytes. */
static ssize_t read_bounded(int fd, char *buf)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = read(fd, buf + len, LOOKUP_STATS_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0 || (len += (size_t)n) > LOOKUP_STATS_MAX)
			return (ssize_t)len;
	}
}

int lookup_stats_read(const char *dir, struct lookup_stats *st, char **err_r)
{
	char *path = xasprintf("%s/%s", dir, LOOKUP_STATS_FILE);
	char buf[LOOKUP_STATS_MAX + 1];
	const char *why = NULL;
	struct stat sb;
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), rc = -1;

	if (fd < 0 && errno == ENOENT)
		rc = 1;
	else if (fd < 0)
		why = errno == ELOOP ? "a symbolic link, refused" : strerror(errno);
	else if (fstat(fd, &sb) < 0)
		why = strerror(errno);
	else if (!S_ISREG(sb.st_mode))
		why = "not a regular file";
	else if (sb.st_size > LOOKUP_STATS_MAX || (n = read_bounded(fd, buf)) > LOOKUP_STATS_MAX)
		why = "too large for a stats file (over 4096 bytes)";
	else if (n < 0)
		why = strerror(errno);
	else if (lookup_stats_decode(buf, (size_t)n, st, &why) == 0)
		rc = 0;
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		*err_r = xasprintf("%s: %s", path, why);
	free(path);
	return rc;
}
