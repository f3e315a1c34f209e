#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "xalloc.h"

const char *daemon_unix_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return NULL;
}

static int user_ids(const char *user, const char *group, uid_t *uid_r, gid_t *gid_r,
		    char **err_r)
{
	*uid_r = (uid_t)-1;
	*gid_r = (gid_t)-1;
	if (user && *user) {
		struct passwd *pw = getpwnam(user);

		if (pw == NULL) {
			*err_r = xasprintf("unknown user %s", user);
			return -1;
		}
		*uid_r = pw->pw_uid;
	}
	if (group && *group) {
		struct group *gr = getgrnam(group);

		if (gr == NULL) {
			*err_r = xasprintf("unknown group %s", group);
			return -1;
		}
		*gid_r = gr->gr_gid;
	}
	return 0;
}

/*
 * The socket is bound inside a directory of our own (mode 0700, made by
 * mkdtemp beside PATH), given its owner there and renamed into place. The
 * socket directory may be writable by the unprivileged fedmig user: a
 * chown or chmod by path after bind would follow whatever that user put
 * at PATH in between (a link to /etc/shadow), while nobody else can enter
 * our private directory, and rename() replaces a stale socket atomically
 * without following a link planted in its place.
 */
int daemon_unix_prepare(const char *path, mode_t mode, struct daemon_unix *u, char **err_r)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xasprintf("%.*s", (int)(slash - path), path) : xstrdup(".");
	struct sockaddr_un sun;
	struct stat st;

	memset(u, 0, sizeof(*u));
	u->dirfd = u->tmpfd = -1;
	u->base = xstrdup(slash ? slash + 1 : path);
	if (*dir == '\0') {
		free(dir);
		dir = xstrdup("/");
	}
	u->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u->dirfd < 0) {
		*err_r = xasprintf("open(%s): %s", dir, strerror(errno));
		goto fail;
	}
	u->tmpdir = xasprintf("%s/.fedmig.XXXXXX", dir);
	u->bind_path = xasprintf("%s/s", u->tmpdir);
	if (strlen(u->bind_path) >= sizeof(sun.sun_path)) {
		*err_r = xasprintf("socket directory path too long: %s (at most %zu bytes)", dir,
				   sizeof(sun.sun_path) - 18);
		goto fail;
	}
	if (mkdtemp(u->tmpdir) == NULL) {
		*err_r = xasprintf("mkdtemp(%s): %s", u->tmpdir, strerror(errno));
		goto fail;
	}
	snprintf(u->bind_path, strlen(u->tmpdir) + 3, "%s/s", u->tmpdir);
	u->tmpfd = open(u->tmpdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (u->tmpfd < 0 || fstat(u->tmpfd, &st) < 0 || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		*err_r = xasprintf("%s: not the private directory just made", u->tmpdir);
		goto fail;
	}
	/* The mode at creation: no moment with wider permissions. */
	u->old_umask = umask(~mode & 0777);
	u->umask_set = 1;
	free(dir);
	return 0;
fail:
	free(dir);
	daemon_unix_abort(u);
	return -1;
}

int daemon_unix_commit(struct daemon_unix *u, const char *user, const char *group, char **err_r)
{
	uid_t uid;
	gid_t gid;
	struct stat st;

	umask(u->old_umask);
	u->umask_set = 0;
	if (fstatat(u->tmpfd, "s", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode)) {
		*err_r = xasprintf("%s: the socket is not where it was bound", u->bind_path);
		goto fail;
	}
	if (geteuid() == 0 && ((user && *user) || (group && *group))) {
		if (user_ids(user, group, &uid, &gid, err_r) < 0)
			goto fail;
		if (fchownat(u->tmpfd, "s", uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
			*err_r = xasprintf("chown(%s): %s", u->bind_path, strerror(errno));
			goto fail;
		}
	}
	if (renameat(u->tmpfd, "s", u->dirfd, u->base) < 0) {
		*err_r = xasprintf("rename(%s, %s): %s", u->bind_path, u->base, strerror(errno));
		goto fail;
	}
	daemon_unix_abort(u);
	return 0;
fail:
	daemon_unix_abort(u);
	return -1;
}

void daemon_unix_abort(struct daemon_unix *u)
{
	if (u->umask_set)
		umask(u->old_umask);
	u->umask_set = 0;
	if (u->tmpfd >= 0) {
		(void)unlinkat(u->tmpfd, "s", 0);
		close(u->tmpfd);
		(void)rmdir(u->tmpdir);
	}
	if (u->dirfd >= 0)
		close(u->dirfd);
	u->tmpfd = u->dirfd = -1;
	free(u->tmpdir);
	free(u->bind_path);
	free(u->base);
	u->tmpdir = u->bind_path = u->base = NULL;
}

static int listen_unix(const char *path, int backlog, mode_t mode, const char *user,
		       const char *group, char **err_r)
{
	struct sockaddr_un sun;
	struct daemon_unix u;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err_r = xasprintf("socket(unix): %s", strerror(errno));
		return -1;
	}
	if (daemon_unix_prepare(path, mode, &u, err_r) < 0)
		goto fail;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", u.bind_path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*err_r = xasprintf("bind(%s): %s", path, strerror(errno));
		daemon_unix_abort(&u);
		goto fail;
	}
	if (listen(fd, backlog) < 0) {
		*err_r = xasprintf("listen(%s): %s", path, strerror(errno));
		daemon_unix_abort(&u);
		goto fail;
	}
	if (daemon_unix_commit(&u, user, group, err_r) < 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

static int listen_inet(const char *hostport, int backlog, char **err_r)
{
	char *copy = xstrdup(hostport);
	char *colon = strrchr(copy, ':');
	struct addrinfo hints, *res = NULL;
	int fd = -1, one = 1, rc;

	if (colon == NULL) {
		*err_r = xasprintf("bad socket address %s: expected HOST:PORT", hostport);
		free(copy);
		return -1;
	}
	*colon = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(*copy ? copy : NULL, colon + 1, &hints, &res);
	if (rc != 0) {
		*err_r = xasprintf("%s: %s", hostport, gai_strerror(rc));
		free(copy);
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err_r = xasprintf("socket: %s", strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, backlog) < 0) {
		*err_r = xasprintf("bind/listen(%s): %s", hostport, strerror(errno));
		close(fd);
		fd = -1;
	}
out:
	freeaddrinfo(res);
	free(copy);
	return fd;
}

int daemon_listen(const char *spec, int backlog, mode_t mode, const char *user,
		  const char *group, char **err_r)
{
	const char *path = daemon_unix_path(spec);

	if (path)
		return listen_unix(path, backlog, mode, user, group, err_r);
	if (strncmp(spec, "inet:", 5) == 0)
		spec += 5;
	return listen_inet(spec, backlog, err_r);
}

int daemon_accept(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int one = 1;

	if (fd >= 0) {
		/* Fails harmlessly (ENOTSUP) on unix sockets. Nagle plus delayed
		 * ACK costs ~40 ms a round trip on TCP (BENCH.md). */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return fd;
}

int daemon_drop_privileges(const char *user, char **err_r)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		*err_r = xasprintf("unknown user %s (create it: useradd --system %s)", user, user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		*err_r = xasprintf("fedmig_user %s is root: refusing to run as root", user);
		return -1;
	}
	if (initgroups(user, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		*err_r = xasprintf("switch to user %s: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		*err_r = xasprintf("switch to user %s: could regain root", user);
		return -1;
	}
	return 0;
}

int daemon_run_dir(const char *dir, const char *user, char **err_r)
{
	struct passwd *pw = user && *user ? getpwnam(user) : NULL;
	struct stat st;
	int fd;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		*err_r = xasprintf("mkdir(%s): %s", dir, strerror(errno));
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		*err_r = errno == ELOOP || errno == ENOTDIR
				 ? xasprintf("run directory %s: not a directory (a symbolic link?): "
					     "refusing it",
					     dir)
				 : xasprintf("open(%s): %s", dir, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		*err_r = xasprintf("fstat(%s): %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	/* Whoever owns it, or may write it, can put a link where we are about
	 * to create a file as root. */
	if (st.st_uid != 0 && st.st_uid != geteuid() && !(pw && st.st_uid == pw->pw_uid)) {
		*err_r = xasprintf("run directory %s is owned by uid %ld, not root%s%s: refusing it "
				   "(chown root %s)",
				   dir, (long)st.st_uid, pw ? " or " : "", pw ? user : "", dir);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX)) {
		*err_r = xasprintf("run directory %s is writable by group or others (mode %04o): "
				   "refusing it (chmod go-w %s)",
				   dir, (unsigned)(st.st_mode & 07777), dir);
		close(fd);
		return -1;
	}
	return fd;
}

int daemon_lock(int dirfd, const char *dir, const char *name, char **err_r)
{
	/* No O_TRUNC: the file is emptied only once the lock is ours (a
	 * running pilot's pid must survive a second start). O_NOFOLLOW: a
	 * link planted here would have root write through it. */
	int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	struct stat st;
	char buf[32];
	int n;

	if (fd < 0) {
		*err_r = errno == ELOOP
				 ? xasprintf("%s/%s is a symbolic link: refusing to follow it "
					     "(remove it; only fedmig-spm creates this file)",
					     dir, name)
				 : xasprintf("open(%s/%s): %s", dir, name, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_uid != geteuid()) {
		*err_r = xasprintf("%s/%s is not a plain file of ours (a FIFO, a hard link or "
				   "another user's file): refusing it (remove it)",
				   dir, name);
		close(fd);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		*err_r = errno == EWOULDBLOCK ? xasprintf("%s/%s: already running", dir, name)
					      : xasprintf("flock(%s/%s): %s", dir, name, strerror(errno));
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		*err_r = xasprintf("write(%s/%s): %s", dir, name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
