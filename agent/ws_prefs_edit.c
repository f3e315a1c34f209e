/*
 * ws_prefs_edit - the rewrite of the matched servers' entries, and the
 * switch, rollback and cleanup of prefs.js in a profile (ws_prefs.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ws_file.h"
#include "ws_prefs.h"
#include "xalloc.h"

/* One change: the bytes [off, off + len) become TEXT (len 0: inserted). */
struct edit {
	size_t off, len;
	char *text;
};

struct edits {
	const struct ws_prefs *p;
	struct edit *v;
	size_t n;
};

static void add(struct edits *e, size_t off, size_t len, char *text)
{
	e->v = xrealloc(e->v, (e->n + 1) * sizeof(*e->v));
	e->v[e->n].off = off;
	e->v[e->n].len = len;
	e->v[e->n++].text = text;
}

static int key_is(const struct wsp_line *l, const char *pre, const char *id, const char *name)
{
	size_t a = strlen(pre), b = strlen(id);

	return l->key != NULL && strncmp(l->key, pre, a) == 0 && strncmp(l->key + a, id, b) == 0 &&
	       l->key[a + b] == '.' && strcmp(l->key + a + b + 1, name) == 0;
}

/* set_str: every line of the key PRE ID.NAME whose value is not S. */
static void set_str(struct edits *e, const char *pre, const char *id, const char *name,
		    const char *s)
{
	const struct wsp_line *l;
	size_t i;

	for (i = 0; i < e->p->n; i++) {
		l = &e->p->v[i];
		if (key_is(l, pre, id, name) && !(l->type == WSP_STR && strcmp(l->str, s) == 0))
			add(e, l->voff, l->vlen, ws_js_string(s));
	}
}

/* set_int: as set_str for a number; a key without a line gets one after
 * the line ANCHOR, in ANCHOR's line-end style. */
static void set_int(struct edits *e, const char *pre, const char *id, const char *name, int v,
		    const struct wsp_line *anchor)
{
	const struct wsp_line *l;
	const char *t;
	size_t i;
	int found = 0;

	for (i = 0; i < e->p->n; i++) {
		l = &e->p->v[i];
		if (!key_is(l, pre, id, name))
			continue;
		found = 1;
		if (!(l->type == WSP_INT && l->num == v))
			add(e, l->voff, l->vlen, xasprintf("%d", v));
	}
	if (found)
		return;
	t = e->p->text + anchor->off + anchor->len;
	if (anchor->len > 0 && t[-1] == '\n') {
		add(e, anchor->off + anchor->len, 0,
		    xasprintf("user_pref(\"%s%s.%s\", %d);%s", pre, id, name, v,
			      anchor->len > 1 && t[-2] == '\r' ? "\r\n" : "\n"));
		return;
	}
	add(e, anchor->off + anchor->len, 0, xasprintf("\nuser_pref(\"%s%s.%s\", %d);", pre, id, name, v));
}

static const struct wsp_line *find(const struct ws_prefs *p, const char *pre, const char *id,
				   const char *name)
{
	char *key = xasprintf("%s%s.%s", pre, id, name);
	const struct wsp_line *l = ws_prefs_find(p, key);

	free(key);
	return l != NULL && l->type == WSP_STR ? l : NULL;
}

/* one_server: the edits of the server ID when it matches. */
static void one_server(struct edits *e, const struct ws_server *s, const struct ws_switch *sw)
{
	int smtp = strcmp(s->type ? s->type : "", "smtp") == 0;
	const char *pre = smtp ? "mail.smtpserver." : "mail.server.", *hk;
	const char *const *old;
	const struct ws_endpoint *to;
	const struct wsp_line *h, *u;

	if (smtp)
		to = &sw->smtp, old = sw->old_smtp;
	else if (s->type && strcmp(s->type, "imap") == 0)
		to = &sw->imap, old = sw->old_hosts;
	else if (s->type && strcmp(s->type, "pop3") == 0)
		to = &sw->pop3, old = sw->old_hosts;
	else
		return;
	if (old == NULL || s->host == NULL)
		return;
	while (*old && strcasecmp(s->host, *old) != 0)
		old++;
	if (*old == NULL || (sw->old_user && (s->user == NULL || strcmp(s->user, sw->old_user) != 0)))
		return;
	/* Thunderbird reads realhostname over hostname: change the one it reads. */
	hk = find(e->p, pre, s->id, "realhostname") ? "realhostname" : "hostname";
	h = find(e->p, pre, s->id, hk);
	if (to->host)
		set_str(e, pre, s->id, hk, to->host);
	if (to->port > 0)
		set_int(e, pre, s->id, "port", to->port, h);
	if (to->socket >= 0)
		set_int(e, pre, s->id, smtp ? "try_ssl" : "socketType", to->socket, h);
	if (to->user == NULL)
		return;
	u = smtp ? NULL : find(e->p, pre, s->id, "realuserName");
	set_str(e, pre, s->id, u ? "realuserName" : smtp ? "username" : "userName", to->user);
}

/* in_use: an account reads the incoming server ID. A server left behind
 * by a deleted account is not Thunderbird's to use, so not ours to change. */
static int in_use(const struct ws_accounts *a, const char *id)
{
	size_t i;

	for (i = 0; i < a->nacc; i++)
		if (a->acc[i].server != NULL && strcmp(a->acc[i].server, id) == 0)
			return 1;
	return 0;
}

static int cmp_edit(const void *a, const void *b)
{
	const struct edit *x = a, *y = b;

	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return (x->len > 0) - (y->len > 0); /* an insertion before a change there */
}

static void apply_edits(const struct ws_prefs *p, struct edits *e, char **out_r, size_t *len_r)
{
	size_t i, at = 0, cap = p->len + 1, n = 0, t;
	char *o;

	for (i = 0; i < e->n; i++)
		cap += strlen(e->v[i].text);
	o = xmalloc(cap);
	if (e->n > 0) /* qsort's base must not be NULL, even for 0 */
		qsort(e->v, e->n, sizeof(*e->v), cmp_edit);
	for (i = 0; i < e->n; i++) {
		memcpy(o + n, p->text + at, e->v[i].off - at);
		n += e->v[i].off - at;
		t = strlen(e->v[i].text);
		memcpy(o + n, e->v[i].text, t);
		n += t;
		at = e->v[i].off + e->v[i].len;
		free(e->v[i].text);
	}
	memcpy(o + n, p->text + at, p->len - at);
	n += p->len - at;
	o[n] = '\0';
	*out_r = o;
	*len_r = n;
}

void ws_prefs_rewrite(const struct ws_prefs *p, const struct ws_switch *sw, char **out_r,
		      size_t *len_r, size_t *changed_r)
{
	struct edits e = {p, NULL, 0};
	struct ws_accounts a;
	size_t i;

	ws_prefs_accounts(p, &a);
	for (i = 0; i < a.nsrv; i++)
		if (in_use(&a, a.srv[i].id))
			one_server(&e, &a.srv[i], sw);
	for (i = 0; i < a.nsmtp; i++)
		one_server(&e, &a.smtp[i], sw);
	ws_accounts_free(&a);
	*changed_r = e.n;
	apply_edits(p, &e, out_r, len_r);
	free(e.v);
}

int ws_prefs_apply(int profile_fd, const struct ws_switch *sw, size_t *changed_r, char **err_r)
{
	struct ws_prefs p;
	struct stat st;
	char *text, *out;
	size_t len, olen;
	mode_t mode;
	int r = 0;

	*changed_r = 0;
	if (ws_switch_ok(sw, err_r) < 0 ||
	    ws_file_read(profile_fd, WS_PREFS_FILE, WS_PREFS_MAX, &text, &len, &mode, err_r) != 0)
		return -1;
	ws_prefs_parse(text, len, &p);
	ws_prefs_rewrite(&p, sw, &out, &olen, changed_r);
	ws_prefs_free(&p);
	if (*changed_r == 0)
		goto done;
	/* The backup first: a crash after it leaves the old prefs.js and a
	 * backup equal to it, both harmless. An existing backup is the state
	 * before the first switch; a rerun must not replace it. */
	if (fstatat(profile_fd, WS_PREFS_BACKUP, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT) {
			*err_r = xasprintf("stat(%s): %s", WS_PREFS_BACKUP, strerror(errno));
			r = -1;
		} else
			r = ws_file_replace(profile_fd, WS_PREFS_BACKUP, text, len, mode, err_r);
	} else if (!S_ISREG(st.st_mode)) {
		*err_r = xasprintf("%s: not a regular file", WS_PREFS_BACKUP);
		r = -1;
	}
	if (r == 0)
		r = ws_file_replace(profile_fd, WS_PREFS_FILE, out, olen, mode, err_r);
done:
	free(text);
	free(out);
	return r;
}

int ws_prefs_rollback(int profile_fd, char **err_r)
{
	char *text;
	size_t len;
	mode_t mode;
	int r = ws_file_read(profile_fd, WS_PREFS_BACKUP, WS_PREFS_MAX, &text, &len, &mode, err_r);

	if (r != 0)
		return r;
	r = ws_file_replace(profile_fd, WS_PREFS_FILE, text, len, mode, err_r);
	free(text);
	return r;
}

int ws_prefs_cleanup(int profile_fd, char **err_r)
{
	if (unlinkat(profile_fd, WS_PREFS_BACKUP, 0) < 0 && errno != ENOENT) {
		*err_r = xasprintf("unlink(%s): %s", WS_PREFS_BACKUP, strerror(errno));
		return -1;
	}
	if (fsync(profile_fd) < 0) {
		*err_r = xasprintf("fsync(profile): %s", strerror(errno));
		return -1;
	}
	return 0;
}
