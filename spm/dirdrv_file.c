/*
 * dirdrv_file - the "passwd-file" directory driver over the dovecot
 * provisioning driver's files (drv_dovecot.c): the users of
 * NAME_passwd_file are the accounts (user name = key = physical address;
 * display name from the extra field name=), PASSWD.addresses ("ADDRESS
 * PHYSICAL" lines) gives each its access address (the first line for that
 * physical, in file order) and aliases (the others).
 *
 * Contacts live in PASSWD.contacts, "ADDRESS<TAB>NAME" lines, for a site
 * to use as a recipient list or an address book source. It is rewritten
 * whole for each change: a temporary file beside it (O_EXCL, 0644),
 * fsync, rename over it, fsync of the directory, so a reader sees the old
 * or the new list, never half of one; no file is opened through a
 * symbolic link (O_NOFOLLOW). One directory sync writes at a time (the
 * engine's lock); each put or del costs a rewrite, fine for the sizes a
 * passwd-file holds.
 *
 * Contract (dirdrv_int.h): a file that cannot be read or written is
 * DRV_TEMP, an unset NAME_passwd_file DRV_FAIL; a missing .addresses or
 * .contacts file is empty. contact_put is DIR_EXISTS for an address one
 * of the system's accounts has (a user name or an .addresses line).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirdrv_int.h"
#include "xalloc.h"

/* read_all: PATH whole (NUL-terminated) in *BUF_R under a shared flock;
 * 0, 1 when it does not exist (*BUF_R = ""), -1 (WHY) on error. */
static int read_all(const char *path, char **buf_r, char *why)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	size_t len = 0, cap = 65536;
	struct stat st;
	ssize_t n = 0;
	char *buf;

	if (fd < 0 && errno == ENOENT) {
		*buf_r = xstrdup("");
		return 1;
	}
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || flock(fd, LOCK_SH) < 0) {
		snprintf(why, DRV_WHY, "open %s: %s", path,
			 fd < 0 || errno ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	buf = xmalloc(cap);
	while ((n = read(fd, buf + len, cap - len - 1)) > 0)
		if ((len += (size_t)n) + 1 == cap)
			buf = xrealloc(buf, cap *= 2);
	if (n < 0)
		snprintf(why, DRV_WHY, "read %s: %s", path, strerror(errno));
	close(fd);
	if (n < 0) {
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	*buf_r = buf;
	return 0;
}

static const char *passwd_of(const struct config *cfg, const char *sys, char *why)
{
	const char *p = config_sys_str(cfg, sys, "passwd_file");

	if (*p != '/')
		snprintf(why, DRV_WHY, "%s_directory = passwd-file needs %s_passwd_file, an absolute "
			 "path", sys, sys);
	return *p == '/' ? p : NULL;
}

/* --- .addresses: ADDRESS PHYSICAL, sorted by physical for lookups --- */

struct addrline {
	const char *phys, *addr;
	size_t plen, alen, idx;
};

static int addrline_cmp(const void *a, const void *b)
{
	const struct addrline *x = a, *y = b;
	size_t n = x->plen < y->plen ? x->plen : y->plen;
	int c = memcmp(x->phys, y->phys, n);

	if (c == 0)
		c = (x->plen > y->plen) - (x->plen < y->plen);
	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* addr_lines: the lines of BUF, sorted by physical then file order. */
static struct addrline *addr_lines(const char *buf, size_t *n_r)
{
	struct addrline *v = NULL;
	size_t n = 0;

	for (const char *p = buf; *p;) {
		size_t len = strcspn(p, "\n"), a = strcspn(p, " \t\n");
		const char *ph = p + a + strspn(p + a, " \t");
		size_t pl = strcspn(ph, " \t\r\n");

		if (a > 0 && p[0] != '#' && pl > 0) {
			if (n % 1024 == 0)
				v = xrealloc(v, (n + 1024) * sizeof(*v));
			v[n] = (struct addrline){ph, p, pl, a, n};
			n++;
		}
		p += len + (p[len] == '\n');
	}
	if (n)
		qsort(v, n, sizeof(*v), addrline_cmp);
	*n_r = n;
	return v;
}

/* addrs_for: access and aliases of PHYS from V (N lines, sorted). */
static void addrs_for(const struct addrline *v, size_t n, const char *phys, char **access_r,
		      char **aliases_r)
{
	struct addrline key = {phys, NULL, strlen(phys), 0, 0};
	size_t lo = 0, hi = n, len = 0;
	char *al = xmalloc(1);

	while (lo < hi) { /* the first line of PHYS (idx 0 sorts before any) */
		size_t mid = (lo + hi) / 2;

		if (addrline_cmp(&v[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*access_r = NULL;
	al[0] = '\0';
	for (; lo < n && v[lo].plen == key.plen && memcmp(v[lo].phys, phys, key.plen) == 0; lo++) {
		if (*access_r == NULL) {
			*access_r = xstrndup(v[lo].addr, v[lo].alen);
			continue;
		}
		al = xrealloc(al, len + v[lo].alen + 2);
		len += (size_t)sprintf(al + len, "%s%.*s", len ? " " : "", (int)v[lo].alen,
				       v[lo].addr);
	}
	if (*access_r == NULL)
		*access_r = xstrdup("");
	*aliases_r = al;
}

/* extra_name: the value of the extra field name= in the passwd-file line
 * LINE (LEN bytes): its words up to the next one holding '='. */
static char *extra_name(const char *line, size_t len)
{
	const char *p = line, *end = line + len, *v, *e;

	for (int colons = 0; p < end && colons < 7; p++)
		colons += *p == ':';
	for (; p < end; p++)
		if ((p == line || p[-1] == ' ' || p[-1] == ':') && end - p >= 5 &&
		    memcmp(p, "name=", 5) == 0)
			break;
	if (p >= end)
		return xstrdup("");
	v = p + 5;
	for (e = v; e < end; e++) {
		const char *w = e + 1, *we;

		if (*e != ' ')
			continue;
		we = memchr(w, ' ', (size_t)(end - w));
		if (memchr(w, '=', (size_t)((we ? we : end) - w)) != NULL)
			break;
	}
	while (e > v && (e[-1] == ' ' || e[-1] == '\r'))
		e--;
	return xstrndup(v, (size_t)(e - v));
}

static int file_list(const struct config *cfg, const char *sys, const char *cookie,
		     struct dir_listing *out, char *why)
{
	const char *pw = passwd_of(cfg, sys, why);
	char *users = NULL, *addrs = NULL, *apath;
	struct addrline *v;
	size_t nv;

	if (pw == NULL)
		return DRV_FAIL;
	apath = xasprintf("%s.addresses", pw);
	if (read_all(pw, &users, why) != 0 || read_all(apath, &addrs, why) < 0) {
		if (users && !*users)
			snprintf(why, DRV_WHY, "%s_passwd_file %s does not exist", sys, pw);
		free(users);
		free(apath);
		return DRV_TEMP;
	}
	v = addr_lines(addrs, &nv);
	for (const char *p = users; *p;) {
		size_t len = strcspn(p, "\n"), u = strcspn(p, ":\n");

		if (u > 0 && p[0] != '#' && p[u] == ':') {
			struct dir_account a = {xstrndup(p, u), NULL, xstrndup(p, u), NULL,
						extra_name(p, len), xstrdup("")};

			addrs_for(v, nv, a.key, &a.access, &a.aliases);
			if (out->nacc % 1024 == 0)
				out->acc = xrealloc(out->acc, (out->nacc + 1024) * sizeof(*out->acc));
			out->acc[out->nacc++] = a;
		}
		p += len + (p[len] == '\n');
	}
	free(v);
	free(users);
	free(addrs);
	free(apath);
	return DRV_OK;
}

/* --- PASSWD.contacts --- */

/* write_atomic: PATH replaced by BUF (LEN bytes), or -1 (WHY). */
static int write_atomic(const char *path, const char *buf, size_t len, char *why)
{
	char *tmp = xasprintf("%s.tmpXXXXXX", path), *dir = xstrdup(path), *slash;
	int fd = mkostemp(tmp, O_CLOEXEC), rc = -1, dfd;
	size_t off = 0;
	ssize_t n = 0;

	if (fd < 0) {
		snprintf(why, DRV_WHY, "create %s: %s", tmp, strerror(errno));
		goto out;
	}
	while (off < len && (n = write(fd, buf + off, len - off)) > 0)
		off += (size_t)n;
	if (off < len || fchmod(fd, 0644) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		snprintf(why, DRV_WHY, "write %s: %s", tmp, strerror(errno));
		if (off < len || errno != EBADF)
			close(fd);
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		snprintf(why, DRV_WHY, "rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	slash = strrchr(dir, '/');
	slash[slash == dir] = '\0';
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd); /* the rename durable; a failure here loses nothing written */
		close(dfd);
	}
	rc = 0;
out:
	free(tmp);
	free(dir);
	return rc;
}

/* contact_lines: each "ADDRESS<TAB>NAME" line of BUF to FN; the key is
 * the address. */
static void contact_lines(char *buf, void (*fn)(void *, const char *, size_t, const char *, size_t),
			  void *ctx)
{
	for (char *p = buf; *p;) {
		size_t len = strcspn(p, "\n"), a = strcspn(p, "\t\n"), nl = len;

		if (nl > 0 && p[nl - 1] == '\r')
			nl--;
		if (a > 0 && a < len && p[0] != '#')
			fn(ctx, p, a, p + a + 1, nl > a ? nl - a - 1 : 0);
		p += len + (p[len] == '\n');
	}
}

struct clist {
	struct dir_contact *c;
	size_t n;
};

static void clist_add(void *ctx, const char *addr, size_t alen, const char *name, size_t nlen)
{
	struct clist *cl = ctx;

	if (cl->n % 256 == 0)
		cl->c = xrealloc(cl->c, (cl->n + 256) * sizeof(*cl->c));
	cl->c[cl->n++] = (struct dir_contact){xstrndup(addr, alen), xstrndup(name, nlen),
					      xstrndup(addr, alen)};
}

static int file_contacts(const struct config *cfg, const char *sys, struct dir_contact **out,
			 size_t *n_r, char *why)
{
	const char *pw = passwd_of(cfg, sys, why);
	struct clist cl = {NULL, 0};
	char *path, *buf;
	int rc;

	if (pw == NULL)
		return DRV_FAIL;
	path = xasprintf("%s.contacts", pw);
	rc = read_all(path, &buf, why) < 0 ? DRV_TEMP : DRV_OK;
	free(path);
	if (rc != DRV_OK)
		return rc;
	contact_lines(buf, clist_add, &cl);
	free(buf);
	*out = cl.c;
	*n_r = cl.n;
	return DRV_OK;
}

/* owned: DRV_OK when ADDRESS is none of SYS's accounts' addresses, else
 * DIR_EXISTS or DRV_TEMP (WHY). */
static int owned(const struct config *cfg, const char *sys, const char *address, char *why)
{
	struct dir_listing l = {0};
	int rc = file_list(cfg, sys, NULL, &l, why);

	for (size_t i = 0; rc == DRV_OK && i < l.nacc; i++) {
		const struct dir_account *a = &l.acc[i];
		size_t n = strlen(address);
		int hit = strcasecmp(a->key, address) == 0 || strcasecmp(a->access, address) == 0;

		for (const char *p = a->aliases; !hit && *p; p += strcspn(p, " "), p += *p == ' ')
			hit = strcspn(p, " ") == n && strncasecmp(p, address, n) == 0;
		if (hit) {
			snprintf(why, DRV_WHY, "%s: %s is already an address of the account %s in %s",
				 sys, address, a->key, config_sys_str(cfg, sys, "passwd_file"));
			rc = DIR_EXISTS;
		}
	}
	dir_listing_free(&l);
	return rc;
}

struct rewrite {
	const char *addr, *name; /* ADDR's line goes, or becomes NAME's when set */
	char *out;
	size_t len, cap;
	int placed;
};

static void put_line(struct rewrite *r, const char *addr, size_t alen, const char *name,
		     size_t nlen)
{
	if (r->len + alen + nlen + 3 > r->cap)
		r->out = xrealloc(r->out, r->cap = (r->len + alen + nlen + 3) * 2);
	r->len += (size_t)sprintf(r->out + r->len, "%.*s\t%.*s\n", (int)alen, addr, (int)nlen,
				  name);
}

static void rewrite_line(void *ctx, const char *addr, size_t alen, const char *name, size_t nlen)
{
	struct rewrite *r = ctx;

	if (alen != strlen(r->addr) || strncasecmp(addr, r->addr, alen) != 0)
		put_line(r, addr, alen, name, nlen);
	else if (r->name != NULL && !r->placed)
		put_line(r, r->addr, alen, r->name, strlen(r->name));
	r->placed |= alen == strlen(r->addr) && strncasecmp(addr, r->addr, alen) == 0;
}

/* change: PASSWD.contacts with ADDRESS's line set to NAME, or without it
 * when NAME is NULL; not written when nothing changes. */
static int change(const struct config *cfg, const char *sys, const char *address,
		  const char *name, char *why)
{
	const char *pw = passwd_of(cfg, sys, why);
	struct rewrite r = {address, name, xmalloc(1), 0, 1, 0};
	char *path, *buf = NULL;
	int rc = DRV_TEMP;

	r.out[0] = '\0';
	if (pw == NULL) {
		free(r.out);
		return DRV_FAIL;
	}
	path = xasprintf("%s.contacts", pw);
	if (read_all(path, &buf, why) >= 0) {
		contact_lines(buf, rewrite_line, &r);
		if (name != NULL && !r.placed)
			put_line(&r, address, strlen(address), name, strlen(name));
		if (strcmp(r.out, buf) == 0 || write_atomic(path, r.out, r.len, why) == 0)
			rc = DRV_OK;
	}
	free(buf);
	free(path);
	free(r.out);
	return rc;
}

static int file_put(const struct config *cfg, const char *sys, const struct dir_contact *c,
		    char *why)
{
	int rc = owned(cfg, sys, c->address, why);

	return rc == DRV_OK ? change(cfg, sys, c->address, c->name, why) : rc;
}

static int file_del(const struct config *cfg, const char *sys, const char *address, char *why)
{
	return change(cfg, sys, address, NULL, why);
}

static int file_has_contacts(const struct config *cfg, const char *sys)
{
	return 1;
}

const struct dirdrv_ops dirdrv_file = {
	.name = "passwd-file",
	.list = file_list,
	.contacts = file_contacts,
	.put = file_put,
	.del = file_del,
	.has_contacts = file_has_contacts,
};
