/*
 * dirdrv_stub - a stand-in for the directory drivers (dirdrv.h), the
 * passwd-file case only, so the sync engine runs against the lab's
 * Dovecot files until the real dispatch and drivers (spm/dirdrv.c and
 * spm/dirdrv_*.c) replace it. Accounts: the users of NAME_passwd_file
 * (user name = physical address = key; display name from a "name=" extra
 * field), their addresses from PASSWD.addresses ("ADDRESS PHYSICAL"; the
 * first of a physical address is its access address, the others its
 * aliases). Contacts: PASSWD.contacts, "ADDRESS<TAB>NAME" lines,
 * rewritten whole (temporary file, fsync, rename). Every address read is
 * normalised (addr.h); a line that is not is skipped with a warning.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "dirdrv.h"
#include "log.h"
#include "xalloc.h"

#define MAX_FILE (256L << 20)

static int is_file(const struct config *cfg, const char *sys)
{
	return strcmp(config_sys_str(cfg, sys, "directory"), "passwd-file") == 0;
}

/* slurp: PATH's content ("" when missing and MAY_MISS), NULL with WHY. */
static char *slurp(const char *path, int may_miss, char *why)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char *buf;
	ssize_t n;

	if (fd < 0 && errno == ENOENT && may_miss)
		return xstrdup("");
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE) {
		snprintf(why, DRV_WHY, "read %s: %s", path,
			 fd < 0 ? strerror(errno) : "not a regular file under 256 MB");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	n = pread(fd, buf, (size_t)st.st_size, 0);
	close(fd);
	if (n < 0) {
		snprintf(why, DRV_WHY, "read %s: %s", path, strerror(errno));
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static int canon(const char *in, size_t len, char out[ADDR_MAX])
{
	const char *why;

	return addr_normalize(in, len, ADDR_FOLD_LOCAL, out, &why);
}

/* extra_name: the value of the "name=" extra field of passwd-file LINE. */
static char *extra_name(const char *line)
{
	const char *f = line;

	for (int i = 0; i < 7 && f; i++)
		f = strchr(f, ':') ? strchr(f, ':') + 1 : NULL;
	for (; f && *f; f += strcspn(f, " "), f += *f == ' ')
		if (strncmp(f, "name=", 5) == 0)
			return xstrndup(f + 5, strcspn(f + 5, " "));
	return xstrdup("");
}

static void add_account(struct dir_listing *l, const char *phys, char *name)
{
	l->acc = xrealloc(l->acc, (l->nacc + 1) * sizeof(*l->acc));
	l->acc[l->nacc++] = (struct dir_account){xstrdup(phys), xstrdup(""), xstrdup(phys),
						 xstrdup(""), name, xstrdup("")};
}

static void users(const char *sys, char *buf, struct dir_listing *l)
{
	char phys[ADDR_MAX];

	for (char *line = buf, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		if (*line == '#' || *line == '\0')
			continue;
		if (canon(line, strcspn(line, ":"), phys) < 0) {
			log_warn("directory %s: passwd-file user \"%.60s\" is no address: skipped",
				 sys, line);
			continue;
		}
		add_account(l, phys, extra_name(line));
	}
}

static int cmp_physical(const void *a, const void *b)
{
	return strcmp(((const struct dir_account *)a)->physical,
		      ((const struct dir_account *)b)->physical);
}

/* address: ADDR of physical PHYS (a line of PASSWD.addresses) into L,
 * whose accounts are sorted by physical address. */
static void address(struct dir_listing *l, const char *addr, const char *phys)
{
	struct dir_account k = {.physical = (char *)phys}, *a;

	a = l->nacc ? bsearch(&k, l->acc, l->nacc, sizeof(k), cmp_physical) : NULL;
	if (a == NULL || strcmp(a->access, addr) == 0)
		return;
	if (*a->access == '\0') {
		free(a->access);
		a->access = xstrdup(addr);
	} else {
		char *s = xasprintf("%s%s%s", a->aliases, *a->aliases ? " " : "", addr);

		free(a->aliases);
		a->aliases = s;
	}
}

static void addresses(const char *sys, char *buf, struct dir_listing *l)
{
	char addr[ADDR_MAX], phys[ADDR_MAX];

	for (char *line = buf, *nl; line && *line; line = nl) {
		size_t n = strcspn(line, " \n");

		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		if (*line == '#' || *line == '\0')
			continue;
		if (line[n] != ' ' || canon(line, n, addr) < 0 ||
		    canon(line + n + 1, strlen(line + n + 1), phys) < 0) {
			log_warn("directory %s: addresses line \"%.60s\" skipped", sys, line);
			continue;
		}
		address(l, addr, phys);
	}
}

int dirdrv_list(const struct config *cfg, const char *sys, const char *cookie,
		struct dir_listing *out, char *why)
{
	const char *pw = config_sys_str(cfg, sys, "passwd_file");
	char *apath, *a, *p;

	memset(out, 0, sizeof(*out));
	if (!is_file(cfg, sys) || !*pw) {
		snprintf(why, DRV_WHY, "%s: only the passwd-file directory is in this build, with "
				       "%s_passwd_file set", sys, sys);
		return DRV_FAIL;
	}
	apath = xasprintf("%s.addresses", pw);
	p = slurp(pw, 0, why);
	a = p ? slurp(apath, 1, why) : NULL;
	free(apath);
	if (a == NULL) {
		free(p);
		return DRV_TEMP;
	}
	users(sys, p, out);
	if (out->nacc)
		qsort(out->acc, out->nacc, sizeof(*out->acc), cmp_physical);
	addresses(sys, a, out);
	free(p);
	free(a);
	return DRV_OK;
}

void dir_listing_free(struct dir_listing *l)
{
	for (size_t i = 0; i < l->nacc; i++) {
		struct dir_account *a = &l->acc[i];

		free(a->key);
		free(a->access);
		free(a->physical);
		free(a->aliases);
		free(a->name);
		free(a->group);
	}
	free(l->acc);
	for (size_t i = 0; i < l->ngone; i++)
		free(l->gone[i]);
	free(l->gone);
	free(l->cookie);
	memset(l, 0, sizeof(*l));
}

void dir_contacts_free(struct dir_contact *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].address);
		free(c[i].name);
		free(c[i].key);
	}
	free(c);
}

int dirdrv_has_contacts(const struct config *cfg, const char *sys)
{
	return is_file(cfg, sys) && *config_sys_str(cfg, sys, "passwd_file");
}

static char *contacts_path(const struct config *cfg, const char *sys)
{
	return xasprintf("%s.contacts", config_sys_str(cfg, sys, "passwd_file"));
}

int dirdrv_contacts(const struct config *cfg, const char *sys, struct dir_contact **out,
		    size_t *n_r, char *why)
{
	char *path = contacts_path(cfg, sys), *buf = slurp(path, 1, why), addr[ADDR_MAX];
	struct dir_contact *v = NULL;
	size_t n = 0;

	free(path);
	if (buf == NULL)
		return DRV_TEMP;
	for (char *line = buf, *nl; *line; line = nl) {
		size_t len = strcspn(line, "\t\n");

		nl = line + strcspn(line, "\n");
		nl += *nl == '\n';
		if (line[len] != '\t' || canon(line, len, addr) < 0)
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = (struct dir_contact){xstrdup(addr),
					      xstrndup(line + len + 1, strcspn(line + len + 1, "\n")),
					      xstrdup(addr)};
	}
	free(buf);
	*out = v;
	*n_r = n;
	return DRV_OK;
}

/* rewrite: the contacts file as V (N), the one for SKIP left out. */
static int rewrite(const struct config *cfg, const char *sys, const struct dir_contact *v,
		   size_t n, const char *skip, const struct dir_contact *add, char *why)
{
	char *path = contacts_path(cfg, sys), *tmp = xasprintf("%s.tmp%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644), rc = DRV_OK;
	FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (fp == NULL) {
		snprintf(why, DRV_WHY, "create %s: %s", tmp, strerror(errno));
		rc = DRV_TEMP;
	} else {
		for (size_t i = 0; i < n; i++)
			if (strcmp(v[i].address, skip) != 0)
				fprintf(fp, "%s\t%s\n", v[i].address, v[i].name);
		if (add)
			fprintf(fp, "%s\t%s\n", add->address, add->name);
		if (fflush(fp) != 0 || fsync(fileno(fp)) < 0 || fclose(fp) != 0 ||
		    rename(tmp, path) < 0) {
			snprintf(why, DRV_WHY, "write %s: %s", path, strerror(errno));
			unlink(tmp);
			rc = DRV_TEMP;
		}
	}
	free(tmp);
	free(path);
	return rc;
}

/* account_has: 1 if ADDR is one of SYS's accounts' addresses. */
static int account_has(const struct config *cfg, const char *sys, const char *addr, char *why)
{
	struct dir_listing l;
	int has = 0;

	if (dirdrv_list(cfg, sys, "", &l, why) != DRV_OK)
		return -1;
	for (size_t i = 0; i < l.nacc && !has; i++)
		has = strcmp(l.acc[i].access, addr) == 0 || strcmp(l.acc[i].physical, addr) == 0 ||
		      strstr(l.acc[i].aliases, addr) != NULL;
	dir_listing_free(&l);
	return has;
}

static int change(const struct config *cfg, const char *sys, const char *addr,
		  const struct dir_contact *add, char *why)
{
	struct dir_contact *v;
	size_t n;
	int rc = dirdrv_contacts(cfg, sys, &v, &n, why);

	if (rc != DRV_OK)
		return rc;
	rc = rewrite(cfg, sys, v, n, addr, add, why);
	dir_contacts_free(v, n);
	return rc;
}

int dirdrv_contact_put(const struct config *cfg, const char *sys, const struct dir_contact *c,
		       char *why)
{
	int has;

	if (!dirdrv_has_contacts(cfg, sys) || strpbrk(c->name, "\t\r\n")) {
		snprintf(why, DRV_WHY, "%s: no contacts here, or a name with a tab or line end", sys);
		return DRV_FAIL;
	}
	if ((has = account_has(cfg, sys, c->address, why)) != 0) {
		if (has > 0)
			snprintf(why, DRV_WHY, "%s is an account of %s", c->address, sys);
		return has > 0 ? DIR_EXISTS : DRV_TEMP;
	}
	return change(cfg, sys, c->address, c, why);
}

int dirdrv_contact_del(const struct config *cfg, const char *sys, const char *address, char *why)
{
	if (!dirdrv_has_contacts(cfg, sys)) {
		snprintf(why, DRV_WHY, "%s: no contacts here", sys);
		return DRV_FAIL;
	}
	return change(cfg, sys, address, NULL, why);
}
