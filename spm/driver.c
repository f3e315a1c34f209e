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
#include "log.h"
#include "run.h"
#include "xalloc.h"

#define EX_TEMPFAIL_ 75

/* --- small file helpers (the dovecot driver's files) --- */

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

/* open_locked: PATH opened read-write (created 0640) and flock'ed. */
static int open_locked(const char *path, char *why)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0) {
		snprintf(why, DRV_WHY, "open %s: %s", path, strerror(errno));
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

/* --- what each sink accepts --- */

enum sink { SINK_DOVECOT, SINK_EXEC };

/*
 * sink_ok: 1 if ADDR (a WHAT: "physical address", ...) may go to SYS's
 * SINK, else 0 with the reason in WHY. The pilot only hands over canonical
 * addresses from the directory; this is the last line if one is not, or
 * was stored before the grammar was enforced: Dovecot's passwd-file splits
 * fields on ':' and lines on LF, the .addresses file words on white space,
 * and a script sees its arguments as its own parser does.
 */
static int sink_ok(const char *sys, enum sink sink, const char *what, const char *addr, char *why)
{
	char canon[ADDR_MAX], shown[160];
	const char *reason = NULL;
	size_t len = strlen(addr);

	if (addr_normalize(addr, len, ADDR_INTERNAL, canon, &reason) < 0)
		;
	else if (strcasecmp(canon, addr) != 0)
		reason = "not in canonical form";
	else if (sink == SINK_EXEC && addr[0] == '-')
		reason = "a leading '-' would read as an option";
	else if (sink == SINK_DOVECOT && !addr_local_is_atom(addr))
		reason = "a quoted local part (not an RFC 5321 dot-atom) cannot be written to "
			 "Dovecot's passwd-file safely";
	else if (sink == SINK_DOVECOT && strpbrk(addr, ": \t"))
		reason = "':' or white space would split the passwd-file's fields";
	else if (sink == SINK_DOVECOT && addr[0] == '#')
		reason = "a leading '#' makes a comment line";
	if (reason == NULL)
		return 1;
	snprintf(why, DRV_WHY, "%s: refusing %s \"%s\" for the %s driver: %s", sys, what,
		 addr_show(addr, len, shown, sizeof(shown)),
		 sink == SINK_DOVECOT ? "dovecot" : "exec", reason);
	return 0;
}

/* --- dovecot driver --- */

static const char *passwd_of(const struct config *cfg, const char *sys, char *why)
{
	const char *p = config_sys_str(cfg, sys, "passwd_file");

	if (*p == '\0') {
		snprintf(why, DRV_WHY, "%s_passwd_file is not set", sys);
		return NULL;
	}
	return p;
}

static int dovecot_create(const struct config *cfg, const char *sys, const char *physical,
			  char *why)
{
	const char *path = passwd_of(cfg, sys, why);
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

static int dovecot_form(const struct config *cfg, const char *sys, const char *physical,
			const char *access, const char *const *aliases, size_t naliases,
			char *why)
{
	char *path = addresses_path(cfg, sys, why);
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

static int dovecot_addresses(const struct config *cfg, const char *sys, char **list_r,
			     char *why)
{
	const char *pw = passwd_of(cfg, sys, why);
	char *apath = addresses_path(cfg, sys, why);
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

static int dovecot_redirect(const struct config *cfg, const char *sys, const char *from,
			    const char *to, char *why)
{
	char *path, *tmp, *text;
	int fd, rc = DRV_OK;

	if (sieve_path(cfg, sys, from, &path) < 0 || strpbrk(to, "\"\\\n")) {
		snprintf(why, DRV_WHY, "address unusable in a sieve script: %s", from);
		return DRV_FAIL;
	}
	if (path == NULL) {
		log_info("%s: redirect %s -> %s: no %s_sieve_directory, routing through the "
			 "directory does the work",
			 sys, from, to, sys);
		return DRV_OK;
	}
	tmp = xasprintf("%s.tmp", path);
	text = xasprintf("# fedmig: mail for %s goes to %s\nredirect \"%s\";\n", from, to, to);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
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

static int dovecot_unredirect(const struct config *cfg, const char *sys, const char *from,
			      char *why)
{
	char *path;
	int rc = DRV_OK;

	if (sieve_path(cfg, sys, from, &path) < 0) {
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

static int dovecot_unform(const struct config *cfg, const char *sys, const char *physical,
			  char *why)
{
	char *path = addresses_path(cfg, sys, why);
	int fd, rc = DRV_OK;
	char *buf;

	if (path == NULL)
		return DRV_FAIL;
	/* Never formed, nothing announced: done (and no empty file made). */
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		free(path);
		return DRV_OK;
	}
	if ((fd = open_locked(path, why)) < 0) {
		free(path);
		return DRV_TEMP;
	}
	buf = slurp(fd);
	if (buf) {
		size_t before = strlen(buf);

		drop_lines(buf, keep_not_physical, physical);
		if (strlen(buf) != before && rewrite(fd, path, buf, why) < 0)
			rc = DRV_TEMP;
	} else {
		snprintf(why, DRV_WHY, "read %s: %s", path, strerror(errno));
		rc = DRV_TEMP;
	}
	free(buf);
	close(fd);
	free(path);
	return rc;
}

static int dovecot_delete(const struct config *cfg, const char *sys, const char *physical,
			  char *why)
{
	const char *pw = passwd_of(cfg, sys, why);
	char *apath = addresses_path(cfg, sys, why);
	int rc = DRV_OK;

	if (pw == NULL || apath == NULL) {
		free(apath);
		return DRV_FAIL;
	}
	for (int f = 0; f < 2 && rc == DRV_OK; f++) {
		const char *path = f == 0 ? pw : apath;
		int fd = open_locked(path, why);
		char *buf;

		if (fd < 0) {
			rc = DRV_TEMP;
			break;
		}
		buf = slurp(fd);
		if (buf) {
			size_t before = strlen(buf);

			drop_lines(buf, f == 0 ? keep_not_user : keep_not_physical, physical);
			if (strlen(buf) != before && rewrite(fd, path, buf, why) < 0)
				rc = DRV_TEMP;
		} else {
			rc = DRV_TEMP;
		}
		free(buf);
		close(fd);
	}
	free(apath);
	if (rc == DRV_OK)
		rc = dovecot_unredirect(cfg, sys, physical, why);
	return rc;
}

/* --- exec driver --- */

static int exec_verb(const struct config *cfg, const char *sys, const char *const *args,
		     size_t nargs, char **out_r, char *why)
{
	const char *cmd = config_sys_str(cfg, sys, "driver_command");
	const char **argv;
	char *out = NULL, *err = NULL, sbuf[64];
	int status, rc;

	if (*cmd != '/') {
		snprintf(why, DRV_WHY, "%s_driver_command must be an absolute path", sys);
		return DRV_FAIL;
	}
	argv = xcalloc(nargs + 2, sizeof(*argv));
	argv[0] = cmd;
	for (size_t i = 0; i < nargs; i++)
		argv[i + 1] = args[i];
	char *sysenv = xasprintf("FEDMIG_SYSTEM=%s", sys);
	const char *env[] = {sysenv, NULL};

	status = run_argv(argv, env, NULL, config_sys_time_ms(cfg, sys, "driver_timeout"),
			  out_r ? &out : NULL, &err);
	free(sysenv);
	free(argv);
	if (status == 0) {
		rc = DRV_OK;
	} else {
		/* The script's first line of stderr is its reason. */
		size_t n = strcspn(err ? err : "", "\n");

		snprintf(why, DRV_WHY, "%s %s: %s%s%.*s", cmd, args[0],
			 run_status_text(status, sbuf), n ? ": " : "", (int)(n > 300 ? 300 : n),
			 err ? err : "");
		rc = status == EX_TEMPFAIL_ || status == RUN_TIMEOUT || status == RUN_SIGNALED
			     ? DRV_TEMP
			     : DRV_FAIL;
	}
	free(err);
	if (out_r) {
		if (rc == DRV_OK)
			*out_r = out;
		else
			free(out);
	}
	return rc;
}

/* --- dispatch --- */

enum kind { K_DOVECOT, K_EXEC, K_NONE, K_BAD };

static enum kind kind_of(const struct config *cfg, const char *sys, char *why)
{
	const char *d;

	if (!config_has_system(cfg, sys)) {
		snprintf(why, DRV_WHY, "unknown system %s", sys);
		return K_BAD;
	}
	d = config_sys_str(cfg, sys, "driver");
	if (strcmp(d, "dovecot") == 0)
		return K_DOVECOT;
	if (strcmp(d, "exec") == 0)
		return K_EXEC;
	return K_NONE;
}

/* checked: kind_of SYS, or K_BAD when one of the N addresses V (roles
 * WHAT) must not reach that driver's sink; WHY says why. */
static enum kind checked(const struct config *cfg, const char *sys, const char *const *what,
			 const char *const *v, size_t n, char *why)
{
	enum kind k = kind_of(cfg, sys, why);

	if (k != K_DOVECOT && k != K_EXEC)
		return k;
	for (size_t i = 0; i < n; i++)
		if (!sink_ok(sys, k == K_DOVECOT ? SINK_DOVECOT : SINK_EXEC, what[i], v[i], why))
			return K_BAD;
	return k;
}

int driver_is_local(const struct config *cfg, const char *sys)
{
	char why[DRV_WHY];

	return kind_of(cfg, sys, why) != K_EXEC;
}

int driver_create(const struct config *cfg, const char *sys, const char *physical,
		  const char *access, char *why)
{
	const char *args[] = {"create", physical, access};
	const char *what[] = {"physical address", "access address"};

	switch (checked(cfg, sys, what, args + 1, 2, why)) {
	case K_DOVECOT:
		return dovecot_create(cfg, sys, physical, why);
	case K_EXEC:
		return exec_verb(cfg, sys, args, 3, NULL, why);
	case K_NONE:
		return DRV_OK;
	default:
		return DRV_FAIL;
	}
}

int driver_form(const struct config *cfg, const char *sys, const char *physical,
		const char *access, const char *const *aliases, size_t naliases, char *why)
{
	const char *v[] = {physical, access};
	const char *what[] = {"physical address", "access address", "alias"};
	enum kind k = checked(cfg, sys, what, v, 2, why);

	for (size_t i = 0; i < naliases && k != K_BAD; i++)
		k = checked(cfg, sys, what + 2, aliases + i, 1, why);
	switch (k) {
	case K_DOVECOT:
		return dovecot_form(cfg, sys, physical, access, aliases, naliases, why);
	case K_EXEC: {
		const char **args = xcalloc(naliases + 3, sizeof(*args));
		int rc;

		args[0] = "form";
		args[1] = physical;
		args[2] = access;
		for (size_t i = 0; i < naliases; i++)
			args[3 + i] = aliases[i];
		rc = exec_verb(cfg, sys, args, naliases + 3, NULL, why);
		free(args);
		return rc;
	}
	case K_NONE:
		return DRV_OK;
	default:
		return DRV_FAIL;
	}
}

int driver_redirect(const struct config *cfg, const char *sys, const char *from, const char *to,
		    char *why)
{
	const char *args[] = {"redirect", from, to};
	const char *what[] = {"redirected address", "redirect target"};

	switch (checked(cfg, sys, what, args + 1, 2, why)) {
	case K_DOVECOT:
		return dovecot_redirect(cfg, sys, from, to, why);
	case K_EXEC:
		return exec_verb(cfg, sys, args, 3, NULL, why);
	case K_NONE:
		return DRV_OK;
	default:
		return DRV_FAIL;
	}
}

int driver_unredirect(const struct config *cfg, const char *sys, const char *from, char *why)
{
	const char *args[] = {"unredirect", from};
	const char *what[] = {"redirected address"};

	switch (checked(cfg, sys, what, args + 1, 1, why)) {
	case K_DOVECOT:
		return dovecot_unredirect(cfg, sys, from, why);
	case K_EXEC:
		return exec_verb(cfg, sys, args, 2, NULL, why);
	case K_NONE:
		return DRV_OK;
	default:
		return DRV_FAIL;
	}
}

int driver_addresses(const struct config *cfg, const char *sys, char **list_r, char *why)
{
	const char *args[] = {"addresses"};

	switch (kind_of(cfg, sys, why)) {
	case K_DOVECOT:
		return dovecot_addresses(cfg, sys, list_r, why);
	case K_EXEC:
		return exec_verb(cfg, sys, args, 1, list_r, why);
	case K_NONE:
		*list_r = xstrdup("");
		return DRV_OK;
	default:
		return DRV_FAIL;
	}
}

int driver_unform(const struct config *cfg, const char *sys, const char *physical, char *why)
{
	const char *args[] = {"unform", physical};
	const char *what[] = {"physical address"};

	switch (checked(cfg, sys, what, args + 1, 1, why)) {
	case K_DOVECOT:
		return dovecot_unform(cfg, sys, physical, why);
	case K_EXEC:
		return exec_verb(cfg, sys, args, 2, NULL, why);
	case K_NONE:
		return DRV_OK;
	default:
		return DRV_FAIL;
	}
}

int driver_delete(const struct config *cfg, const char *sys, const char *physical, char *why)
{
	const char *args[] = {"delete", physical};
	const char *what[] = {"physical address"};

	switch (checked(cfg, sys, what, args + 1, 1, why)) {
	case K_DOVECOT:
		return dovecot_delete(cfg, sys, physical, why);
	case K_EXEC:
		return exec_verb(cfg, sys, args, 2, NULL, why);
	case K_NONE:
		return DRV_OK;
	default:
		return DRV_FAIL;
	}
}

int driver_list_has(const char *list, const char *addr)
{
	size_t n = strlen(addr);

	for (const char *p = list; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len > 0 && p[len - 1] == '\r')
			len--;
		/* Canonical form folds case; a script may not. */
		if (len == n && strncasecmp(p, addr, n) == 0)
			return 1;
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}
