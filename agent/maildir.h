/*
 * maildir - the pieces of a Maildir++ reader (src_maildir.c), each one
 * checking what it takes from the tree: names of folders, of messages,
 * the subscriptions and dovecot-keywords files.
 *
 * Contract: FD arguments are directories opened by the caller; nothing
 * here follows a symbolic link or leaves the directory it is given
 * (openat with O_NOFOLLOW, names without '/'). A folder name is accepted
 * only when md_folder_ok(); a message only when its base name (before
 * ':') is a valid source key (md_key_ok: 1-200 printable ASCII bytes
 * without space or '/'), anything else is skipped with a log line. The
 * parsers of file contents (md_parse_subscriptions, md_parse_keywords)
 * take any bytes. Functions returning int give 0, or -1 with *err_r.
 */
#ifndef FEDMIG_AGENT_MAILDIR_H
#define FEDMIG_AGENT_MAILDIR_H

#include <stddef.h>
#include <time.h>

#define MD_KEY_MAX 200
#define MD_FILE_MAX (1 << 20) /* subscriptions, dovecot-keywords */

struct md_names {
	char **v;
	size_t n, cap;
};

struct md_entry {
	char *name; /* the file's name in its directory */
	char *base; /* its name before ':': the source key */
	int in_new; /* in new/, else cur/ */
	unsigned long long size;
};

struct md_list {
	struct md_entry *v;
	size_t n, cap;
};

struct md_keywords {
	char *kw[26]; /* 'a' + i */
};

int md_folder_ok(const char *name);
int md_key_ok(const char *base, size_t len);
void md_names_add(struct md_names *l, const char *s);
int md_names_has(const struct md_names *l, const char *s);
void md_names_free(struct md_names *l);

/* md_list_dirs: the folders under ROOT (not INBOX), sorted. */
int md_list_dirs(int root, struct md_names *dirs, char **err_r);
/* md_missing_parents: the names before a '.' of DIRS that DIRS lacks. */
void md_missing_parents(const struct md_names *dirs, struct md_names *parents);
/* md_read_subscriptions: the "subscriptions" file (none: none). */
int md_read_subscriptions(int root, struct md_names *subs, char **err_r);
void md_parse_subscriptions(const char *text, size_t len, struct md_names *subs);

/* md_open_folder: FOLDER's directory ("INBOX": ROOT itself). */
int md_open_folder(int root, const char *folder, char **err_r);
/* md_scan: the messages of cur/ and new/ whose key sorts after CURSOR, sorted. */
int md_scan(int fd, const char *cursor, struct md_list *l, char **err_r);
void md_list_free(struct md_list *l);
/* md_open_msg: E's file (moved to cur/ since the scan: found again);
 * -2 when it is gone. */
int md_open_msg(int fd, const struct md_entry *e, char **err_r);

void md_read_keywords(int fd, struct md_keywords *kw);
void md_parse_keywords(const char *text, size_t len, struct md_keywords *kw);
void md_keywords_free(struct md_keywords *kw);
/* md_flags: NAME's ":2," flags as IMAP flags, space separated. */
void md_flags(const char *name, const struct md_keywords *kw, char *buf, size_t size);
/* md_date: T as an INTERNALDATE ("01-Jan-2020 10:00:00 +0000"). */
void md_date(time_t t, char *buf, size_t size);
/* md_crlf: IN with bare LF as CRLF into OUT (2 * N bytes); *CR carries
 * "the last byte was CR" across calls. Returns the bytes written. */
size_t md_crlf(const char *in, size_t n, char *out, int *cr);

#endif
