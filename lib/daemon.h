/*
 * daemon - what every fedmig daemon does around its service: listen on a
 * socket, drop privileges, hold a lock file.
 *
 * Contract: each returns -1 with *err_r set (caller frees) on error, and
 * logs nothing: the program decides.
 * daemon_listen(): SPEC is unix:PATH, or inet:HOST:PORT (also HOST:PORT);
 * a stale unix socket at PATH is removed first, the new one gets MODE and,
 * when running as root, owner USER (may be NULL) and group GROUP (may be
 * NULL). Returns a non-blocking, close-on-exec listening fd. TCP sockets
 * get TCP_NODELAY on accepted connections via daemon_accept().
 * daemon_drop_privileges(): when root, switch to USER and its groups for
 * good; when not root, does nothing and returns 0.
 * daemon_lock(): create PATH, take an exclusive lock, write our pid; the
 * fd stays open for the life of the process. -1 with "already running"
 * when another process holds it.
 */
#ifndef FEDMIG_DAEMON_H
#define FEDMIG_DAEMON_H

#include <sys/types.h>

int daemon_listen(const char *spec, int backlog, mode_t mode, const char *user,
		  const char *group, char **err_r);
/* daemon_accept: accept4 non-blocking; TCP_NODELAY on TCP. -1 with errno. */
int daemon_accept(int lfd);
int daemon_drop_privileges(const char *user, char **err_r);
int daemon_lock(const char *path, char **err_r);
/* daemon_unix_path: the PATH of a unix:PATH spec, or NULL. */
const char *daemon_unix_path(const char *spec);

#endif
