/*
 * ws_folders - the folder tree of Thunderbird's Local Folders, in either
 * of its stores: mbox (folder X is the file X, its subfolders are in the
 * directory X.sbd) or maildir (folder X is the directory X with cur/,
 * new/, tmp/; subfolders in X.sbd likewise).
 *
 * Contract. ROOT_FD is the open Local Folders directory. Nothing is
 * followed through a symbolic link and nothing outside ROOT_FD is opened
 * (openat, O_NOFOLLOW, names without '/'). A folder's name is its path of
 * on-disk names joined by '/' (Thunderbird writes UTF-8 names; a name it
 * cannot put on disk is an 8-hex-digit hash whose pretty name is only in
 * the .msf index: XXX given as the hash). A name that is not UTF-8, has a
 * control byte, starts with '.' or makes the path longer than
 * WS_FOLDER_MAX is not given and is counted in *skipped_r, as is a link.
 * Index and housekeeping files (*.msf, *.dat, *.html, *.json, ...) are
 * not folders. Folders come in byte order of their names, a parent before
 * its children; an X.sbd without X gives X as a parent only (WS_FOLDER_PARENT,
 * like IMAP's \Noselect). At most WS_DEPTH_MAX levels. FN's fd is open for
 * the call only. Returns 0, or -1 with *err_r (caller frees), or -1 with
 * *err_r NULL when FN returned -1.
 */
#ifndef FEDMIG_AGENT_WS_FOLDERS_H
#define FEDMIG_AGENT_WS_FOLDERS_H

#include <stddef.h>

#define WS_FOLDER_MAX 1024
#define WS_DEPTH_MAX 32

enum ws_folder_kind { WS_FOLDER_MBOX, WS_FOLDER_MAILDIR, WS_FOLDER_PARENT };

struct ws_folder {
	const char *name;
	enum ws_folder_kind kind;
	int fd;                   /* the mbox file, the maildir directory; PARENT: -1 */
	unsigned long long size;  /* bytes: the mbox file, the maildir's messages */
	unsigned long long count; /* maildir: message files (an mbox: 0, scan it) */
};

typedef int ws_folder_fn(void *ctx, const struct ws_folder *f);
/* Called with cur/ or new/ opened as DIRFD and a message file's NAME. */
typedef int ws_file_fn(void *ctx, int dirfd, const char *sub, const char *name);

int ws_utf8_ok(const char *s);
int ws_folders(int root_fd, ws_folder_fn *fn, void *ctx, unsigned *skipped_r, char **err_r);
/* ws_maildir_each: the message files of a maildir folder, cur/ then new/,
 * each in byte order of names (tmp/ is never read: files being written).
 * Regular files only; names starting with '.' are not messages. */
int ws_maildir_each(int folder_fd, ws_file_fn *fn, void *ctx, char **err_r);

#endif
