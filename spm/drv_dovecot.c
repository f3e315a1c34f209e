/*
 * drv_dovecot - the "dovecot" provisioning driver: Dovecot's passwd-file
 * userdb (NAME_passwd_file) holds the mailboxes, PASSWD.addresses the
 * announced addresses ("ADDRESS PHYSICAL" lines), and, when
 * NAME_sieve_directory is set, FROM.sieve there redirects FROM's mail.
 *
 * Contract (drv.h): the files are changed under flock, in place (the
 * directory need not be writable by fedmig-spm), fsync()ed before a verb
 * returns DRV_OK; a file that cannot be opened, locked, read or written is
 * DRV_TEMP, a missing NAME_passwd_file DRV_FAIL. Addresses are canonical
 * with a dot-atom local part and no ':', white space or leading '#'
 * (refuse()), so no line written can split or become a comment.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "driver.h"
#include "drv.h"
#include "log.h"
#include "xalloc.h"

/* --- small file helpers --- */

/* slurp: the whole of FD from offset 0; "" for an empty file. */
static char *slurp(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = xmalloc(cap);
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) < 0) {
		free(buf);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* open_locked: PATH opened read-write (created 0640) and flock'ed; only
 * a regular file: a FIFO or a device would hang the pilot in slurp(). */
static int open_locked(const char *path, char *why)
{
	int fd = open(path, O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0640);
	struct stat st;

	if (fd < 0) {
		snprintf(why, DRV_WHY, "open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, DRV_WHY, "open %s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (flock(fd, LOCK_EX) < 0) {
		snprintf(why, DRV_WHY, "flock %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* line_starting: 1 if a line of BUF starts with PREFIX (LEN bytes). */
static int line_starting(const char *buf, const char *prefix, size_t len)
{
	for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, prefix, len) == 0)
			return 1;
	return 0;
}

static int append(int fd, const char *path, const char *line, char *why)
{
	size_t n = strlen(line);

	if (lseek(fd, 0, SEEK_END) < 0 || write(fd, line, n) != (ssize_t)n || fsync(fd) < 0) {
		snprintf(why, DRV_WHY, "write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* rewrite: replace FD's content with BUF (in place: the directory need
 * not be writable by us; the file stays locked meanwhile). */
static int rewrite(int fd, const char *path, const char *buf, char *why)
{
	size_t n = strlen(buf);

	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, n, 0) != (ssize_t)n || fsync(fd) < 0) {
		snprintf(why, DRV_WHY, "rewrite %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* drop_lines: remove from BUF (in place) the lines for which KEEP is 0. */
static void drop_lines(char *buf, int (*keep)(const char *line, size_t len, const char *arg),
		       const char *arg)
{
	char *w = buf;

	for (char *p = buf; *p;) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		size_t take = nl ? len + 1 : len;

		if (keep(p, len, arg)) {
			memmove(w, p, take);
			w += take;
		}
		p += take;
	}
	*w = '\0';
}

/* --- the verbs --- */

static const char *passwd_of(const struct config *cfg, const char *sys, char *why)
{
	const char *p = config_sys_str(cfg, sys, "passwd_file");

	if (*p == '\0') {
		snprintf(why, DRV_WHY, "%s_passwd_file is not set", sys);
		return NULL;
	}
	return p;
}

static int dovecot_create(const struct drv_call *c, const char *physical, const char *access)
{
	char *why = c->why;
	const char *path = passwd_of(c->cfg, c->sys, why);
	unsigned char rnd[12];
	char prefix[ADDR_MAX + 2], line[ADDR_MAX + 64], hex[25];
	int fd, rc = DRV_TEMP;
	char *buf;

	if (path == NULL)
		return DRV_FAIL;
	if ((fd = open_locked(path, why)) < 0)
		return DRV_TEMP;
	snprintf(prefix, sizeof(prefix), "%s:", physical);
	buf = slurp(fd);
	if (buf == NULL) {
		snprintf(why, DRV_WHY, "read %s: %s", path, strerror(errno));
	} else if (line_starting(buf, prefix, strlen(prefix))) {
		rc = DRV_OK;
	} else {
		/* Nobody logs in with it: the data mover uses the master user. */
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
			snprintf(why, DRV_WHY, "getrandom: %s", strerror(errno));
		} else {
			for (size_t i = 0; i < sizeof(rnd); i++)
				snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
			snprintf(line, sizeof(line), "%s{PLAIN}%s::::::\n", prefix, hex);
			if (buf[0] && buf[strlen(buf) - 1] != '\n' && append(fd, path, "\n", why) < 0)
				rc = DRV_TEMP;
			else if (append(fd, path, line, why) == 0)
				rc = DRV_OK;
		}
	}
	free(buf);
	close(fd);
	return rc;
}

static char *addresses_path(const struct config *cfg, const char *sys, char *why)
{
	const char *p = passwd_of(cfg, sys, why);

	return p ? xasprintf("%s.addresses", p) : NULL;
}

static int dovecot_form(const struct drv_call *c, const char *physical, const char *access,
			const char *const *aliases, size_t naliases)
{
	char *why = c->why;
	char *path = addresses_path(c->cfg, c->sys, why);
	int fd, rc = DRV_OK;
	char *buf;

	if (path == NULL)
		return DRV_FAIL;
	if ((fd = open_locked(path, why)) < 0) {
		free(path);
		return DRV_TEMP;
	}
	buf = slurp(fd);
	for (size_t i = 0; buf && i <= naliases && rc == DRV_OK; i++) {
		const char *a = i == 0 ? access : aliases[i - 1];
		char *line = xasprintf("%s %s\n", a, physical);

		if (!line_starting(buf, line, strlen(line)) && append(fd, path, line, why) < 0)
			rc = DRV_TEMP;
		free(line);
	}
	if (buf == NULL) {
		snprintf(why, DRV_WHY, "read %s: %s", path, strerror(errno));
		rc = DRV_TEMP;
	}
	free(buf);
	close(fd);
	free(path);
	return rc;
}

/*
 * settle: Dovecot's passwd-file looks at the file at most once per second
 * of its clock (db-passwd-file.c, last_sync_time), so a mailbox created in
 * the second Dovecot last looked stays unknown to LMTP ("550 5.1.1 User
 * doesn't exist": a bounce) until the next second. Announced must mean
 * deliverable: wait until the second of PATH's last change is over.
 * Seen in the lab when the planned instant is "now" (E2 to switch in one
 * second); costs under a second, before the hold, never inside it.
 */
static void settle(const char *path)
{
	struct timespec now, ts;
	struct stat st;

	if (stat(path, &st) < 0 || clock_gettime(CLOCK_REALTIME, &now) < 0 ||
	    now.tv_sec > st.st_mtim.tv_sec)
		return;
	/* 50 ms past the next second: Dovecot's ioloop clock lags a little. */
	long long us = (long long)(st.st_mtim.tv_sec + 1 - now.tv_sec) * 1000000 -
		       now.tv_nsec / 1000 + 50000;

	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int dovecot_addresses(const struct drv_call *c, char **list_r)
{
	char *why = c->why;
	const char *pw = passwd_of(c->cfg, c->sys, why);
	char *apath = addresses_path(c->cfg, c->sys, why);
	size_t len = 0, cap = 4096;
	char *out;

	if (pw == NULL || apath == NULL) {
		free(apath);
		return DRV_FAIL;
	}
	settle(pw);
	out = xmalloc(cap);
	out[0] = '\0';
	for (int f = 0; f < 2; f++) {
		const char *path = f == 0 ? pw : apath;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		char *buf;

		if (fd < 0 && errno == ENOENT && f == 1)
			continue;
		if (fd < 0) {
			snprintf(why, DRV_WHY, "open %s: %s", path, strerror(errno));
			free(out);
			free(apath);
			return DRV_TEMP;
		}
		buf = slurp(fd);
		close(fd);
		for (char *p = buf; p && *p;) {
			char *nl = strchr(p, '\n');
			size_t n = strcspn(p, f == 0 ? ":\n" : " \n");

			if (n > 0 && p[0] != '#') {
				if (len + n + 2 > cap) {
					cap = (len + n + 2) * 2;
					out = xrealloc(out, cap);
				}
				memcpy(out + len, p, n);
				len += n;
				out[len++] = '\n';
				out[len] = '\0';
			}
			p = nl ? nl + 1 : NULL;
		}
		free(buf);
	}
	free(apath);
	*list_r = out;
	return DRV_OK;
}

static int sieve_path(const struct config *cfg, const char *sys, const char *from, char **path_r)
{
	const char *dir = config_sys_str(cfg, sys, "sieve_directory");

	if (*dir == '\0') {
		*path_r = NULL;
		return 0;
	}
	/* The address is canonical and never holds '/'; refuse one that would. */
	if (strchr(from, '/') || from[0] == '.')
		return -1;
	*path_r = xasprintf("%s/%s.sieve", dir, from);
	return 0;
}

static int dovecot_redirect(const struct drv_call *c, const char *from, const char *to)
{
	char *why = c->why, *path, *tmp, *text;
	int fd, rc = DRV_OK;

	if (sieve_path(c->cfg, c->sys, from, &path) < 0 || strpbrk(to, "\"\\\n")) {
		snprintf(why, DRV_WHY, "address unusable in a sieve script: %s", from);
		return DRV_FAIL;
	}
	if (path == NULL) {
		log_info("%s: redirect %s -> %s: no %s_sieve_directory, routing through the "
			 "directory does the work",
			 c->sys, from, to, c->sys);
		return DRV_OK;
	}
	tmp = xasprintf("%s.tmp", path);
	text = xasprintf("# fedmig: mail for %s goes to %s\nredirect \"%s\";\n", from, to, to);
	/* Made afresh, never opened through a link: whoever else may write
	 * to the sieve directory (Dovecot's user) must not make us write
	 * over another file. */
	if (unlink(tmp) < 0 && errno != ENOENT)
		log_warn("unlink %s: %s", tmp, strerror(errno));
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fsync(fd) < 0 ||
	    rename(tmp, path) < 0) {
		snprintf(why, DRV_WHY, "write %s: %s", path, strerror(errno));
		unlink(tmp);
		rc = DRV_TEMP;
	}
	if (fd >= 0)
		close(fd);
	free(text);
	free(tmp);
	free(path);
	return rc;
}

static int dovecot_unredirect(const struct drv_call *c, const char *from)
{
	char *why = c->why, *path;
	int rc = DRV_OK;

	if (sieve_path(c->cfg, c->sys, from, &path) < 0) {
		snprintf(why, DRV_WHY, "address unusable in a sieve script: %s", from);
		return DRV_FAIL;
	}
	if (path == NULL)
		return DRV_OK;
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(why, DRV_WHY, "unlink %s: %s", path, strerror(errno));
		rc = DRV_TEMP;
	}
	free(path);
	return rc;
}

static int keep_not_user(const char *line, size_t len, const char *user)
{
	size_t n = strlen(user);

	return !(len > n && strncmp(line, user, n) == 0 && line[n] == ':');
}

static int keep_not_physical(const char *line, size_t len, const char *physical)
{
	const char *sp = memchr(line, ' ', len);
	size_t n = strlen(physical);

	return !(sp && (size_t)(line + len - (sp + 1)) == n && strncmp(sp + 1, physical, n) == 0);
}

/* drop_from: remove from the file PATH the lines KEEP refuses (the file
 * rewritten only when one went); DRV_OK or DRV_TEMP. */
static int drop_from(const char *path, int (*keep)(const char *, size_t, const char *),
		     const char *arg, char *why)
{
	int fd = open_locked(path, why), rc = DRV_OK;
	char *buf;

	if (fd < 0)
		return DRV_TEMP;
	buf = slurp(fd);
	if (buf) {
		size_t before = strlen(buf);

		drop_lines(buf, keep, arg);
		if (strlen(buf) != before && rewrite(fd, path, buf, why) < 0)
			rc = DRV_TEMP;
	} else {
		snprintf(why, DRV_WHY, "read %s: %s", path, strerror(errno));
		rc = DRV_TEMP;
	}
	free(buf);
	close(fd);
	return rc;
}

static int dovecot_unform(const struct drv_call *c, const char *physical)
{
	char *path = addresses_path(c->cfg, c->sys, c->why);
	int rc = DRV_OK;

	if (path == NULL)
		return DRV_FAIL;
	/* Never formed, nothing announced: done (and no empty file made). */
	if (access(path, F_OK) == 0 || errno != ENOENT)
		rc = drop_from(path, keep_not_physical, physical, c->why);
	free(path);
	return rc;
}

static int dovecot_delete(const struct drv_call *c, const char *physical)
{
	const char *pw = passwd_of(c->cfg, c->sys, c->why);
	char *apath = addresses_path(c->cfg, c->sys, c->why);
	int rc;

	if (pw == NULL || apath == NULL) {
		free(apath);
		return DRV_FAIL;
	}
	rc = drop_from(pw, keep_not_user, physical, c->why);
	if (rc == DRV_OK)
		rc = drop_from(apath, keep_not_physical, physical, c->why);
	free(apath);
	if (rc == DRV_OK)
		rc = dovecot_unredirect(c, physical);
	return rc;
}

/*
 * dovecot_refuse: Dovecot's passwd-file splits fields on ':' and lines on
 * LF, the .addresses file words on white space; a quoted local part could
 * hold any of them.
 */
static const char *dovecot_refuse(const char *addr)
{
	if (!addr_local_is_atom(addr))
		return "a quoted local part (not an RFC 5321 dot-atom) cannot be written to "
		       "Dovecot's passwd-file safely";
	if (strpbrk(addr, ": \t"))
		return "':' or white space would split the passwd-file's fields";
	if (addr[0] == '#')
		return "a leading '#' makes a comment line";
	return NULL;
}

const struct driver_ops drv_dovecot = {
	.name = "dovecot",
	.local = 1,
	.refuse = dovecot_refuse,
	.create = dovecot_create,
	.form = dovecot_form,
	.redirect = dovecot_redirect,
	.unredirect = dovecot_unredirect,
	.unform = dovecot_unform,
	.addresses = dovecot_addresses,
	.del = dovecot_delete,
};
