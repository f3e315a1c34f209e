/*
 * ws_prefs - Thunderbird's prefs.js: read it, list the mail accounts in
 * it, and switch the server entries of the accounts on the old system
 * to the new one, changing no other byte of the file.
 *
 * Contract. ws_prefs_parse never fails on content: a line is a
 * preference only when the whole line is exactly
 *	[ws] user_pref|pref|sticky_pref ( "key" , value ) ; [ws] [// comment]
 * with a JS string (both quotes, the JS escapes; a decoded NUL makes the
 * line not a preference), a 32-bit integer or true/false as value, and
 * it is outside a block comment. Every other line is kept verbatim and
 * never looked at again. A later line of a key wins over an earlier one,
 * as in Thunderbird. Lines are split at '\n'; a '\r' before it stays
 * part of the line's end. The parsed text is a private copy.
 *
 * ws_prefs_rewrite produces a new text in which only the value tokens of
 * the matched servers' keys differ (an incoming server matches only when
 * an account uses it: mail.account.X.server; an SMTP server by its host
 * and user name alone, since identities share them) (a missing port or socket type is
 * added as one new line after the server's host line); every other byte
 * is the input's. A value already equal is left as written, so a second
 * run on its own output changes nothing (byte-identical). Matching uses
 * the effective host: realhostname when Thunderbird has one (the account
 * settings changed it), else hostname; the same for realuserName.
 * ws_prefs_apply/rollback/cleanup act on PROFILE_FD, an open profile
 * directory; the caller makes sure Thunderbird is not running there
 * (ws_profile_running), since Thunderbird rewrites prefs.js on exit.
 */
#ifndef FEDMIG_AGENT_WS_PREFS_H
#define FEDMIG_AGENT_WS_PREFS_H

#include <stddef.h>

#define WS_PREFS_MAX (16u << 20)
#define WS_PREFS_FILE "prefs.js"
/* The bytes of prefs.js before the first switch; kept until cleanup. */
#define WS_PREFS_BACKUP "prefs.js.fedmig-orig"

enum wsp_type { WSP_OTHER, WSP_STR, WSP_INT, WSP_BOOL };

struct wsp_line {
	size_t off, len;   /* the line in the text, its '\n' included */
	enum wsp_type type;
	char *key;         /* decoded; NULL for WSP_OTHER */
	char *str;         /* WSP_STR: the decoded value (no NUL inside) */
	long long num;     /* WSP_INT; WSP_BOOL 0 or 1 */
	size_t voff, vlen; /* the value's token in the text */
};

struct ws_prefs {
	char *text;
	size_t len;
	struct wsp_line *v;
	size_t n, cap;
};

/* A server as the accounts see it; port 0 or socket -1: not set. */
struct ws_server {
	char *id;   /* "server2", "smtp1" */
	char *type; /* imap, pop3, none (Local Folders), rss, ...; "smtp" */
	char *host, *user, *dir;
	int port, socket;
};

struct ws_identity {
	char *id, *email, *name, *smtp; /* smtp: the smtpserver's id or NULL */
};

struct ws_account {
	char *id, *server; /* server: the incoming server's id */
	char *identities;  /* comma-separated identity ids, or NULL */
};

struct ws_accounts {
	struct ws_account *acc;
	struct ws_server *srv, *smtp;
	struct ws_identity *ids;
	size_t nacc, nsrv, nsmtp, nids;
};

/* The new settings of one kind of server: NULL, 0 or -1 keep the old. */
struct ws_endpoint {
	const char *host;
	int port;   /* 1-65535 */
	int socket; /* 0 plain, 2 STARTTLS, 3 TLS (Thunderbird's numbers) */
	const char *user;
};

struct ws_switch {
	/* The old system's host names, each list NULL-terminated: incoming
	 * servers (imap, pop3) on one of OLD_HOSTS, SMTP servers on one of
	 * OLD_SMTP (NULL: none); compared without regard to case. */
	const char *const *old_hosts;
	const char *const *old_smtp;
	const char *old_user; /* when set: only servers with this user name */
	struct ws_endpoint imap, pop3, smtp;
};

void ws_prefs_parse(const char *text, size_t len, struct ws_prefs *p);
void ws_prefs_free(struct ws_prefs *p);
/* ws_prefs_find: KEY's effective line, or NULL. */
const struct wsp_line *ws_prefs_find(const struct ws_prefs *p, const char *key);
/* ws_js_string: S as a double-quoted JS string literal (caller frees). */
char *ws_js_string(const char *s);

void ws_prefs_accounts(const struct ws_prefs *p, struct ws_accounts *a);
/* ws_prefs_local_folders: where the Local Folders account keeps its mail
 * (the server mail.accountmanager.localfoldersserver names, else the
 * first of type "none"): *REL_R (caller frees) relative to the profile,
 * from its directory-rel "[ProfD]..."; *MAILDIR_R 1 for Thunderbird's
 * maildir store, 0 for mbox. -1 when there is none or it is not inside
 * the profile (an absolute directory alone is not trusted). */
int ws_prefs_local_folders(const struct ws_prefs *p, char **rel_r, int *maildir_r);
void ws_accounts_free(struct ws_accounts *a);

/* ws_switch_ok: 0 when every new value is fit for prefs.js (a host
 * name, a port, a socket type, a user name without control bytes). */
int ws_switch_ok(const struct ws_switch *sw, char **err_r);
/* ws_prefs_rewrite: P switched by SW into *OUT_R (caller frees, *LEN_R
 * bytes); *CHANGED_R the number of values changed or added. */
void ws_prefs_rewrite(const struct ws_prefs *p, const struct ws_switch *sw, char **out_r,
		      size_t *len_r, size_t *changed_r);

/* ws_prefs_apply: switch the profile's prefs.js: nothing is written when
 * nothing changes; else the backup is made first (unless one exists:
 * it holds the state before the first switch), then prefs.js replaced
 * atomically. ws_prefs_rollback puts the backup's bytes back (-2: there
 * is none); ws_prefs_cleanup removes it (none: 0). 0, or -1 with *err_r. */
int ws_prefs_apply(int profile_fd, const struct ws_switch *sw, size_t *changed_r, char **err_r);
int ws_prefs_rollback(int profile_fd, char **err_r);
int ws_prefs_cleanup(int profile_fd, char **err_r);

#endif
