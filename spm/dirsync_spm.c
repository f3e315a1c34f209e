/*
 * dirsync_spm - fedmig-spm's directory syncs in a child (contract in
 * dirsync_spm.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dirsync.h"
#include "dirsync_spm.h"
#include "log.h"
#include "xalloc.h"

struct dsp {
	int close_fd; /* closed in the child: fedmig-spm's lock */
	pid_t pid;   /* the child, 0: none */
	int full;    /* the whole sync is wanted */
	char **down; /* systems whose downward sync is wanted */
	size_t ndown;
};

struct dsp *dsp_new(int close_fd)
{
	struct dsp *d = xcalloc(1, sizeof(struct dsp));

	d->close_fd = close_fd;
	return d;
}

static void clear_down(struct dsp *d)
{
	for (size_t i = 0; i < d->ndown; i++)
		free(d->down[i]);
	free(d->down);
	d->down = NULL;
	d->ndown = 0;
}

void dsp_free(struct dsp **d)
{
	if (*d == NULL)
		return;
	clear_down(*d);
	free(*d);
	*d = NULL;
}

void dsp_want_system(struct dsp *d, const struct config *cfg, const char *sys)
{
	if (!config_has_system(cfg, sys) || !dirsync_enabled(cfg, sys))
		return;
	for (size_t i = 0; i < d->ndown; i++)
		if (strcmp(d->down[i], sys) == 0)
			return;
	d->down = xrealloc(d->down, (d->ndown + 1) * sizeof(*d->down));
	d->down[d->ndown++] = xstrdup(sys);
}

void dsp_want_full(struct dsp *d)
{
	d->full = 1;
}

/* sync: the wanted sync on S, under the lock; the exit status. */
static int sync_once(struct dsp *d, const struct config *cfg, struct store *s, int full)
{
	struct dirsync_opts o = {.up = 1, .down = 1};
	struct dirsync_report rep;
	char *err = NULL;
	int fd = dirsync_lock(cfg, &err), rc;

	if (fd < 0) {
		/* fedmigctl directory sync runs: it does the same work. */
		log_info("directory sync not started: %s", err);
		free(err);
		return 0;
	}
	if (!full) {
		o.systems = (const char *const *)d->down;
		o.nsystems = d->ndown;
	}
	rc = dirsync_run(cfg, s, &o, NULL, &rep);
	close(fd);
	return rc < 0 ? 2 : dirsync_exit(&rep);
}

/* child: the sync in a fresh process with its own store connection
 * (SQLite's may not cross a fork); dies with fedmig-spm. */
static void child(struct dsp *d, const struct config *cfg, int full)
{
	sigset_t all;
	char *err = NULL;
	struct store *s;

	/* Not holding fedmig-spm's lock: a restart must not wait for us. */
	if (d->close_fd >= 0)
		close(d->close_fd);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	s = store_open_config(cfg, STORE_RDWR, (uid_t)-1, (gid_t)-1, &err);
	if (s == NULL) {
		log_error("directory sync: %s", err);
		_exit(2);
	}
	_exit(sync_once(d, cfg, s, full));
}

/* any: 1 if a system of CFG has a directory. */
static int any(const struct config *cfg)
{
	size_t n;
	const char *const *sys = config_list(cfg, "systems", &n);

	for (size_t i = 0; i < n; i++)
		if (dirsync_enabled(cfg, sys[i]))
			return 1;
	return 0;
}

void dsp_start(struct dsp *d, const struct config *cfg)
{
	int full = d->full;
	pid_t pid;

	if (d->pid > 0 || (!full && d->ndown == 0))
		return;
	if (!any(cfg)) {
		d->full = 0;
		return;
	}
	pid = fork();
	if (pid < 0) {
		log_error("directory sync: fork: %s; retried at the next one", strerror(errno));
		return;
	}
	if (pid == 0)
		child(d, cfg, full);
	d->pid = pid;
	d->full = 0;
	clear_down(d); /* a full sync does every downward sync too */
	log_info("directory sync started (%s, pid %ld)", full ? "every system" : "after a switch",
		 (long)pid);
}

int dsp_reaped(struct dsp *d, const struct config *cfg, pid_t pid, int status)
{
	if (d->pid <= 0 || pid != d->pid)
		return 0;
	d->pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 2)
		log_warn("directory sync (pid %ld) failed (status %d): retried at the next one",
			 (long)pid, status);
	dsp_start(d, cfg);
	return 1;
}

void dsp_run_now(struct dsp *d, const struct config *cfg, struct store *s)
{
	if (d->full || d->ndown)
		sync_once(d, cfg, s, d->full);
	d->full = 0;
	clear_down(d);
}
