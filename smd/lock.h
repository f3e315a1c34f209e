/*
 * lock - one copier per mailbox.
 *
 * A process that copies a mailbox holds the mailbox's lock for the whole
 * copy: the master takes it for a job before the job is marked running
 * and hands it to the child it forks (the child and its lanes inherit
 * it); fedmig-smd -u takes it for its one mailbox. The lock is a write
 * lock on one byte of the file "STATE_DATABASE.smd-lock", at an offset
 * given by a 62-bit hash of the mailbox's journal key (smd_mailbox_key).
 *
 * Why this design: the kernel releases the lock when the last process
 * holding it dies, however it dies (KILL, a crash, a master killed with
 * its children), so there is no stale lock to clean up and no pid to
 * trust (a recorded pid can be reused by an unrelated process). It is an
 * open file description lock (F_OFD_SETLK): it belongs to the open file,
 * not to the process, so it survives fork() into the child, and two opens
 * in one process conflict (the master's test of a job's lock conflicts
 * with its own children's locks). One file for all mailboxes, beside the
 * database: every fedmig-smd that shares a queue and journal (daemon,
 * --once, -u) shares it, whatever its run_directory, and no file is left
 * per mailbox. Two keys with the same hash only wait for each other.
 *
 * Contract: smd_lock_take() opens the lock file of DB_PATH (creating it,
 * mode 0600; refusing a symbolic link, anything but a plain file of ours
 * with one link) and locks KEY's byte without waiting. Returns the fd
 * (close-on-exec; closing it, or the death of every process that holds it,
 * releases the lock), SMD_LOCK_BUSY when another open file holds the
 * lock, or -1 with *err_r (caller frees). Logs nothing.
 */
#ifndef FEDMIG_SMD_LOCK_H
#define FEDMIG_SMD_LOCK_H

#define SMD_LOCK_BUSY (-2)

int smd_lock_take(const char *db_path, const char *key, char **err_r);

#endif
