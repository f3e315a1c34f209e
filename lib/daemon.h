/*
 * daemon - what every fedmig daemon does around its service: listen on a
 * socket, drop privileges, hold a lock file.
 *
 * Contract: each returns -1 with *err_r set (caller frees) on error, and
 * logs nothing: the program decides.
 * daemon_listen(): SPEC is unix:PATH, or inet:HOST:PORT (also HOST:PORT);
 * the socket is bound in a private directory beside PATH with MODE
 * (umask, never a chmod after bind), given owner USER and group GROUP
 * (either may be NULL; only as root) there, then renamed onto PATH, which
 * replaces a stale socket and never follows a link planted at PATH.
 * Returns a non-blocking, close-on-exec listening fd. TCP sockets get
 * TCP_NODELAY on accepted connections via daemon_accept().
 * daemon_drop_privileges(): when root, switch to USER and its groups for
 * good; when not root, does nothing and returns 0.
 * daemon_run_dir(): create DIR (0755) if missing and return an open fd on
 * it, refusing a symbolic link, a directory owned by anyone but root, us
 * or USER, and one writable by group or others without the sticky bit.
 * daemon_lock(): open or create NAME in DIRFD (DIR for messages), refusing
 * a symbolic link, anything but a regular file of ours with one link;
 * take an exclusive lock, then write our pid; the fd is close-on-exec and
 * stays open for the life of the process. -1 with "already running" when
 * another process holds it.
 */
#ifndef FEDMIG_DAEMON_H
#define FEDMIG_DAEMON_H

#include <sys/types.h>

int daemon_listen(const char *spec, int backlog, mode_t mode, const char *user,
		  const char *group, char **err_r);
/* daemon_accept: accept4 non-blocking; TCP_NODELAY on TCP. -1 with errno. */
int daemon_accept(int lfd);
int daemon_drop_privileges(const char *user, char **err_r);
int daemon_run_dir(const char *dir, const char *user, char **err_r);
int daemon_lock(int dirfd, const char *dir, const char *name, char **err_r);

/*
 * For a socket another library binds (libmilter): daemon_unix_prepare()
 * makes the private directory beside PATH, sets the umask for MODE and
 * gives the path to bind in u->bind_path; after the bind,
 * daemon_unix_commit() sets the owner, renames the socket onto PATH and
 * restores the umask; daemon_unix_abort() undoes prepare. Both free U.
 */
struct daemon_unix {
	int dirfd, tmpfd;
	char *tmpdir, *bind_path, *base;
	mode_t old_umask;
	int umask_set;
};
int daemon_unix_prepare(const char *path, mode_t mode, struct daemon_unix *u, char **err_r);
int daemon_unix_commit(struct daemon_unix *u, const char *user, const char *group, char **err_r);
void daemon_unix_abort(struct daemon_unix *u);
/* daemon_unix_path: the PATH of a unix:PATH spec, or NULL. */
const char *daemon_unix_path(const char *spec);

#endif
