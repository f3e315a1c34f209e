/*
 * ws_file - the workstation's careful file I/O: a small file read whole
 * and a file replaced atomically, both inside a directory the caller has
 * opened (a Thunderbird profile), never through a symbolic link.
 *
 * Contract: NAME is one path component (no '/', not "." or ".."); the
 * file is opened with O_NOFOLLOW, so a link where the file should be is
 * an error, never followed. ws_file_read takes only a regular file of at
 * most MAX bytes and gives it NUL-terminated (*buf_r, caller frees).
 * ws_file_replace writes DATA to a fresh temporary file in the same
 * directory (O_EXCL, mode MODE), fsyncs it, renames it over NAME and
 * fsyncs the directory: after a crash NAME holds either the old or the
 * new bytes, never a mixture. Both return 0, or -1 with *err_r (caller
 * frees) naming the call and the file; -2 from ws_file_read when the
 * file does not exist.
 */
#ifndef FEDMIG_AGENT_WS_FILE_H
#define FEDMIG_AGENT_WS_FILE_H

#include <stddef.h>
#include <sys/types.h>

int ws_name_ok(const char *name);
int ws_file_read(int dirfd, const char *name, size_t max, char **buf_r, size_t *len_r,
		 mode_t *mode_r, char **err_r);
int ws_file_replace(int dirfd, const char *name, const char *data, size_t len, mode_t mode,
		    char **err_r);

#endif
