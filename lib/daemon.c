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

static int listen_unix(const char *path, int backlog, mode_t mode, const char *user,
		       const char *group, char **err_r)
{
	struct sockaddr_un sun;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		*err_r = xasprintf("socket path too long: %s", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err_r = xasprintf("socket(unix): %s", strerror(errno));
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		*err_r = xasprintf("unlink(%s): %s", path, strerror(errno));
		goto fail;
	}
	/* The mode comes with bind (through the umask), the owner with
	 * lchown: root must not chmod or chown by path what whoever can write
	 * the directory may have swapped for a link since bind. */
	mode_t old_umask = umask(~mode & 0777);
	int brc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));

	umask(old_umask);
	if (brc < 0) {
		*err_r = xasprintf("bind(%s): %s", path, strerror(errno));
		goto fail;
	}
	if (geteuid() == 0 && ((user && *user) || (group && *group))) {
		uid_t uid = (uid_t)-1;
		gid_t gid = (gid_t)-1;

		if (user && *user) {
			struct passwd *pw = getpwnam(user);

			if (pw == NULL) {
				*err_r = xasprintf("unknown user %s", user);
				goto fail;
			}
			uid = pw->pw_uid;
		}
		if (group && *group) {
			struct group *gr = getgrnam(group);

			if (gr == NULL) {
				*err_r = xasprintf("unknown group %s", group);
				goto fail;
			}
			gid = gr->gr_gid;
		}
		if (lchown(path, uid, gid) < 0) {
			*err_r = xasprintf("chown(%s): %s", path, strerror(errno));
			goto fail;
		}
	}
	if (listen(fd, backlog) < 0) {
		*err_r = xasprintf("listen(%s): %s", path, strerror(errno));
		goto fail;
	}
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

int daemon_lock(const char *path, char **err_r)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	char buf[32];
	int n;

	if (fd < 0) {
		*err_r = xasprintf("open(%s): %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		*err_r = errno == EWOULDBLOCK ? xasprintf("%s: already running", path)
					      : xasprintf("flock(%s): %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, buf, (size_t)n) != n) {
		*err_r = xasprintf("write(%s): %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
