#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secrets.h"
#include "xalloc.h"

/* who: "USER" for messages telling the administrator whom to chown to. */
static void who(char *buf, size_t size)
{
	struct passwd *pw = getpwuid(geteuid());

	if (pw)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "%ld", (long)geteuid());
}

/* open_error: the message for open() having failed with errno; ME is the
 * reading user, named so the administrator knows whom to chown to. */
static char *open_error(const char *path, const char *me)
{
	if (errno == EACCES)
		return xasprintf("open %s: %s (it is read as user %s: "
				 "chown %s %s; chmod 0600 %s)",
				 path, strerror(errno), me, me, path, path);
	if (errno == ELOOP)
		return xasprintf("open %s: a symbolic link; name the file itself", path);
	return xasprintf("open %s: %s", path, strerror(errno));
}

/* check_file: FD is a regular file of ours, mode 0600 or stricter and at
 * most SECRETS_MAX_BYTES; its stat in *ST. */
static int check_file(int fd, const char *path, const char *me, struct stat *st,
		      char **err_r)
{
	if (fstat(fd, st) < 0) {
		*err_r = xasprintf("fstat %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		*err_r = xasprintf("%s: not a regular file (%s); credentials must be a plain "
				   "file of mode 0600",
				   path,
				   S_ISFIFO(st->st_mode)  ? "a FIFO"
				   : S_ISDIR(st->st_mode) ? "a directory"
				   : S_ISSOCK(st->st_mode) ? "a socket"
							   : "a device");
		return -1;
	}
	/* Whoever owns the file can change the password we present: only
	 * the reading user itself may. */
	if (st->st_uid != geteuid()) {
		*err_r = xasprintf("%s: owned by uid %ld, but read by user %s: "
				   "chown %s %s; chmod 0600 %s",
				   path, (long)st->st_uid, me, me, path, path);
		return -1;
	}
	if (st->st_mode & 077) {
		*err_r = xasprintf("%s: mode %04o is readable by group or others; "
				   "it must be 0600 (chown %s %s; chmod 0600 %s)",
				   path, (unsigned)(st->st_mode & 07777), me, path, path);
		return -1;
	}
	if (st->st_size > SECRETS_MAX_BYTES) {
		*err_r = xasprintf("%s: larger than %d bytes", path, SECRETS_MAX_BYTES);
		return -1;
	}
	return 0;
}

/* read_all: FD to EOF, not to SIZE: the file may change under us, and a
 * file grown past SIZE is refused rather than read cut. */
static int read_all(int fd, const char *path, size_t size, char **buf_r, size_t *len_r,
		    char **err_r)
{
	char *buf = xmalloc(size + 1);
	size_t len = 0;

	for (;;) {
		ssize_t n = read(fd, buf + len, size + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err_r = xasprintf("read %s: %s", path, strerror(errno));
			secrets_free(buf, len);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > size) {
			*err_r = xasprintf("%s: changed while being read", path);
			secrets_free(buf, len);
			return -1;
		}
	}
	buf[len] = '\0';
	*buf_r = buf;
	*len_r = len;
	return 0;
}

int secrets_read(const char *path, char **buf_r, size_t *len_r, char **err_r)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO planted at PATH must not hang the reader for
	 * ever in open(); it is refused below as not a regular file. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	char *buf, me[64];
	size_t len;

	int open_errno = errno;

	*buf_r = NULL;
	*len_r = 0;
	who(me, sizeof(me)); /* getpwuid() may change errno */
	errno = open_errno;
	if (fd < 0) {
		*err_r = open_error(path, me);
		return -1;
	}
	if (check_file(fd, path, me, &st, err_r) < 0 ||
	    read_all(fd, path, (size_t)st.st_size, &buf, &len, err_r) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	*buf_r = buf;
	*len_r = len;
	return 0;
}

void secrets_free(char *buf, size_t len)
{
	if (buf) {
		explicit_bzero(buf, len);
		free(buf);
	}
}

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * next_line: the line at *off (without CR LF) as [*s, *e); 0 at end of
 * text, -1 on a NUL byte (a binary file is not a secrets file).
 */
static int next_line(const char *buf, size_t len, size_t *off, const char **s, const char **e)
{
	if (*off >= len)
		return 0;
	const char *p = buf + *off, *end = buf + len;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *le = nl ? nl : end;

	*off = (size_t)(le - buf) + (nl != NULL);
	if (memchr(p, '\0', (size_t)(le - p)) != NULL)
		return -1;
	if (le > p && le[-1] == '\r')
		le--;
	*s = p;
	*e = le;
	return 1;
}

/*
 * next_entry: the next line with content (leading blanks skipped; empty
 * and '#' lines passed over) as [*s, *e), its number in *line; 1, 0 at
 * end of text, -1 with *err_r on a NUL byte.
 */
static int next_entry(const char *buf, size_t len, const char *path, size_t *off, int *line,
		      const char **s, const char **e, char **err_r)
{
	int rc;

	while ((rc = next_line(buf, len, off, s, e)) != 0) {
		++*line;
		if (rc < 0) {
			*err_r = xasprintf("%s:%d: NUL byte", path, *line);
			return -1;
		}
		while (*s < *e && blank(**s))
			++*s;
		if (*s < *e && **s != '#')
			return 1;
	}
	return 0;
}

void secrets_wipe(char **p)
{
	if (*p) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

static char *dup_range(const char *s, const char *e)
{
	char *r = xmalloc((size_t)(e - s) + 1);

	memcpy(r, s, (size_t)(e - s));
	r[e - s] = '\0';
	return r;
}

/*
 * An entry's reader: 1 with the value's bytes [*VS_R, *VE_R) when the
 * entry S..E is KEY's, 0 for another key's, -1 with a static *WHY_R when
 * it is malformed.
 */
typedef int (*entry_fn)(const char *s, const char *e, const char *key, const char **vs_r,
			const char **ve_r, const char **why_r);

/* lookup: KEY's value in BUF as READER finds it; with UNIQUE a second
 * entry for KEY is an error, else the last one wins. 0, 1 (none), -1. */
static int lookup(const char *buf, size_t len, const char *path, const char *key, entry_fn reader,
		  int unique, char **value_r, char **err_r)
{
	size_t off = 0;
	const char *s, *e, *vs, *ve, *why = NULL;
	int line = 0, rc, m;

	*value_r = NULL;
	while ((rc = next_entry(buf, len, path, &off, &line, &s, &e, err_r)) > 0) {
		if ((m = reader(s, e, key, &vs, &ve, &why)) == 0)
			continue;
		if (m > 0 && unique && *value_r) {
			/* Two passwords for one login: neither is a safe guess. */
			why = "second line for the same login";
			m = -1;
		}
		if (m < 0) {
			*err_r = xasprintf("%s:%d: %s", path, line, why);
			rc = -1;
			break;
		}
		secrets_wipe(value_r);
		*value_r = dup_range(vs, ve);
	}
	if (rc < 0) {
		secrets_wipe(value_r);
		return -1;
	}
	return *value_r ? 0 : 1;
}

static int read_value(const char *s, const char *e, const char *name, const char **vs_r,
		      const char **ve_r, const char **why_r)
{
	const char *eq = memchr(s, '=', (size_t)(e - s)), *ke;
	size_t nlen = strlen(name);

	if (eq == NULL) {
		*why_r = "expected name = value";
		return -1;
	}
	for (ke = eq; ke > s && blank(ke[-1]); ke--)
		;
	if ((size_t)(ke - s) != nlen || memcmp(s, name, nlen) != 0)
		return 0;
	for (s = eq + 1; s < e && blank(*s); s++)
		;
	while (e > s && blank(e[-1]))
		e--;
	*vs_r = s;
	*ve_r = e;
	return 1;
}

int secrets_value(const char *buf, size_t len, const char *path, const char *name,
		  char **value_r, char **err_r)
{
	/* The last one wins, as in main.cf. */
	return lookup(buf, len, path, name, read_value, 0, value_r, err_r);
}

static int read_user(const char *s, const char *e, const char *login, const char **vs_r,
		     const char **ve_r, const char **why_r)
{
	const char *le = s, *p;
	size_t llen = strlen(login);

	while (le < e && !blank(*le))
		le++;
	for (p = le; p < e && blank(*p); p++)
		;
	if (p == e) {
		*why_r = "expected LOGIN PASSWORD";
		return -1;
	}
	if ((size_t)(le - s) != llen || memcmp(s, login, llen) != 0)
		return 0;
	*vs_r = p;
	*ve_r = e;
	return 1;
}

int secrets_user(const char *buf, size_t len, const char *path, const char *login,
		 char **password_r, char **err_r)
{
	return lookup(buf, len, path, login, read_user, 1, password_r, err_r);
}
