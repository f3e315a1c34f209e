/*
 * ws_prefs_acct - the accounts of a parsed prefs.js, the rewrite of the
 * matched servers' entries, and the file's switch and rollback
 * (ws_prefs.h).
 */
#include <stdlib.h>
#include <string.h>

#include "ws_prefs.h"
#include "ws_profile.h"
#include "xalloc.h"

struct idlist {
	char **v;
	size_t n;
};

static int id_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* ids: the ids X of the keys PREFIX.X.field, in order of first use;
 * "default" is Thunderbird's template, not a server. */
static void ids(const struct ws_prefs *p, const char *prefix, struct idlist *l)
{
	size_t i, j, n, plen = strlen(prefix);
	const char *k, *dot;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < p->n; i++) {
		k = p->v[i].key;
		if (k == NULL || strncmp(k, prefix, plen) != 0 || !(dot = strchr(k + plen, '.')))
			continue;
		n = (size_t)(dot - k) - plen;
		if (!id_ok(k + plen, n) || (n == 7 && memcmp(k + plen, "default", 7) == 0))
			continue;
		for (j = 0; j < l->n; j++)
			if (strlen(l->v[j]) == n && memcmp(l->v[j], k + plen, n) == 0)
				break;
		if (j < l->n)
			continue;
		l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->v[l->n++] = xstrndup(k + plen, n);
	}
}

static const struct wsp_line *field(const struct ws_prefs *p, const char *prefix, const char *id,
				    const char *name)
{
	char *key = xasprintf("%s%s.%s", prefix, id, name);
	const struct wsp_line *l = ws_prefs_find(p, key);

	free(key);
	return l;
}

static char *sdup(const struct ws_prefs *p, const char *prefix, const char *id, const char *name)
{
	const struct wsp_line *l = field(p, prefix, id, name);

	return l != NULL && l->type == WSP_STR ? xstrdup(l->str) : NULL;
}

static int ival(const struct ws_prefs *p, const char *prefix, const char *id, const char *name,
		int dflt)
{
	const struct wsp_line *l = field(p, prefix, id, name);

	return l != NULL && l->type == WSP_INT ? (int)l->num : dflt;
}

/* The effective name: Thunderbird keeps the first hostname and writes a
 * changed one as realhostname (realuserName likewise). */
static const char *real_key(const struct ws_prefs *p, const char *prefix, const char *id,
			    const char *real, const char *plain)
{
	const struct wsp_line *l = field(p, prefix, id, real);

	return l != NULL && l->type == WSP_STR ? real : plain;
}

static void server(const struct ws_prefs *p, const char *pre, const char *id, struct ws_server *s)
{
	int smtp = strcmp(pre, "mail.smtpserver.") == 0;

	s->id = xstrdup(id);
	s->type = smtp ? xstrdup("smtp") : sdup(p, pre, id, "type");
	s->host = sdup(p, pre, id, real_key(p, pre, id, "realhostname", "hostname"));
	s->user = smtp ? sdup(p, pre, id, "username")
		       : sdup(p, pre, id, real_key(p, pre, id, "realuserName", "userName"));
	s->dir = smtp ? NULL : sdup(p, pre, id, "directory-rel");
	if (s->dir == NULL && !smtp)
		s->dir = sdup(p, pre, id, "directory");
	s->port = ival(p, pre, id, "port", 0);
	s->socket = ival(p, pre, id, smtp ? "try_ssl" : "socketType", -1);
}

/* servers: the servers PREFIX.X.*, *N_R of them. */
static struct ws_server *servers(const struct ws_prefs *p, const char *prefix, size_t *n_r)
{
	struct ws_server *v;
	struct idlist l;
	size_t i;

	ids(p, prefix, &l);
	v = xcalloc(l.n + 1, sizeof(*v));
	for (i = 0; i < l.n; i++) {
		server(p, prefix, l.v[i], &v[i]);
		free(l.v[i]);
	}
	free(l.v);
	*n_r = l.n;
	return v;
}

void ws_prefs_accounts(const struct ws_prefs *p, struct ws_accounts *a)
{
	static const char *A = "mail.account.", *S = "mail.server.", *T = "mail.smtpserver.",
			  *I = "mail.identity.";
	struct idlist l;

	memset(a, 0, sizeof(*a));
	ids(p, A, &l);
	a->acc = xcalloc(l.n + 1, sizeof(*a->acc));
	for (a->nacc = 0; a->nacc < l.n; a->nacc++) {
		a->acc[a->nacc].id = l.v[a->nacc];
		a->acc[a->nacc].server = sdup(p, A, l.v[a->nacc], "server");
		a->acc[a->nacc].identities = sdup(p, A, l.v[a->nacc], "identities");
	}
	free(l.v);
	a->srv = servers(p, S, &a->nsrv);
	a->smtp = servers(p, T, &a->nsmtp);
	ids(p, I, &l);
	a->ids = xcalloc(l.n + 1, sizeof(*a->ids));
	for (a->nids = 0; a->nids < l.n; a->nids++) {
		a->ids[a->nids].id = l.v[a->nids];
		a->ids[a->nids].email = sdup(p, I, l.v[a->nids], "useremail");
		a->ids[a->nids].name = sdup(p, I, l.v[a->nids], "fullName");
		a->ids[a->nids].smtp = sdup(p, I, l.v[a->nids], "smtpServer");
	}
	free(l.v);
}

static void server_free(struct ws_server *s)
{
	free(s->id);
	free(s->type);
	free(s->host);
	free(s->user);
	free(s->dir);
}

void ws_accounts_free(struct ws_accounts *a)
{
	size_t i;

	for (i = 0; i < a->nacc; i++) {
		free(a->acc[i].id);
		free(a->acc[i].server);
		free(a->acc[i].identities);
	}
	for (i = 0; i < a->nsrv; i++)
		server_free(&a->srv[i]);
	for (i = 0; i < a->nsmtp; i++)
		server_free(&a->smtp[i]);
	for (i = 0; i < a->nids; i++) {
		free(a->ids[i].id);
		free(a->ids[i].email);
		free(a->ids[i].name);
		free(a->ids[i].smtp);
	}
	free(a->acc);
	free(a->srv);
	free(a->smtp);
	free(a->ids);
	memset(a, 0, sizeof(*a));
}

static int host_ok(const char *h)
{
	size_t i, n = strlen(h);

	if (n == 0 || n > 253 || h[0] == '-' || h[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
		      (h[i] >= '0' && h[i] <= '9') || h[i] == '-' || h[i] == '.' || h[i] == ':'))
			return 0;
	return 1;
}

/* A user name reaches a JS string and then an IMAP LOGIN: no control
 * byte, nothing Thunderbird would have to escape but quotes. */
static int user_ok(const char *u)
{
	size_t n = strlen(u);

	if (n == 0 || n > 320)
		return 0;
	for (; *u; u++)
		if ((unsigned char)*u < 0x20 || *u == 0x7f)
			return 0;
	return 1;
}

static int endpoint_ok(const struct ws_endpoint *e, const char *what, char **err_r)
{
	if ((e->host && !host_ok(e->host)) || e->port < 0 || e->port > 65535 ||
	    (e->socket != -1 && e->socket != 0 && e->socket != 2 && e->socket != 3) ||
	    (e->user && !user_ok(e->user))) {
		*err_r = xasprintf("the new %s settings are not valid", what);
		return -1;
	}
	return 0;
}

static int hosts_ok(const char *const *h, int need)
{
	if (h == NULL || h[0] == NULL)
		return !need;
	for (; *h; h++)
		if (!host_ok(*h))
			return 0;
	return 1;
}

int ws_switch_ok(const struct ws_switch *sw, char **err_r)
{
	if (!hosts_ok(sw->old_hosts, 1) || !hosts_ok(sw->old_smtp, 0) ||
	    (sw->old_user && !user_ok(sw->old_user))) {
		*err_r = xasprintf("the old server's host or user name is not valid");
		return -1;
	}
	if (endpoint_ok(&sw->imap, "IMAP", err_r) < 0 || endpoint_ok(&sw->pop3, "POP3", err_r) < 0 ||
	    endpoint_ok(&sw->smtp, "SMTP", err_r) < 0)
		return -1;
	return 0;
}

int ws_prefs_local_folders(const struct ws_prefs *p, char **rel_r, int *maildir_r)
{
	static const char *S = "mail.server.";
	const struct wsp_line *l = ws_prefs_find(p, "mail.accountmanager.localfoldersserver");
	struct ws_accounts a;
	const char *id = NULL, *dir;
	char *store;
	size_t i;
	int r = -1;

	ws_prefs_accounts(p, &a);
	for (i = 0; i < a.nsrv && id == NULL; i++)
		if (l != NULL && l->type == WSP_STR && strcmp(a.srv[i].id, l->str) == 0)
			id = a.srv[i].id;
	for (i = 0; i < a.nsrv && id == NULL; i++)
		if (a.srv[i].type != NULL && strcmp(a.srv[i].type, "none") == 0)
			id = a.srv[i].id;
	l = id ? field(p, S, id, "directory-rel") : NULL;
	dir = l != NULL && l->type == WSP_STR ? l->str : "";
	if (strncmp(dir, "[ProfD]", 7) == 0 && ws_rel_ok(dir + 7)) {
		*rel_r = xstrdup(dir + 7);
		store = sdup(p, S, id, "storeContractID");
		*maildir_r = store != NULL && strstr(store, "maildirstore") != NULL;
		free(store);
		r = 0;
	}
	ws_accounts_free(&a);
	return r;
}
