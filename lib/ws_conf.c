#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netname.h"
#include "ws_conf.h"
#include "xalloc.h"

int ws_root_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= WS_ROOT_MAX || *s == '/' || s[n - 1] == '/' || strstr(s, "//"))
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < ' ' || *p == 0x7f)
			return 0;
	return 1;
}

static int default_port(const char *socket, int imap)
{
	if (strcmp(socket, "ssl") == 0)
		return imap ? 993 : 465;
	return imap ? 143 : 587;
}

int ws_endpoint_parse(const char *s, int imap, const char *socket, struct ws_endpoint *e,
		      const char **why_r)
{
	const char *slash = strchr(s, '/'), *end = slash ? slash : s + strlen(s);
	const char *colon = memchr(s, ':', (size_t)(end - s));
	size_t hl = (size_t)((colon ? colon : end) - s);

	memset(e, 0, sizeof(*e));
	snprintf(e->socket, sizeof(e->socket), "%s", slash ? slash + 1 : socket);
	if (strcmp(e->socket, "ssl") != 0 && strcmp(e->socket, "starttls") != 0 &&
	    strcmp(e->socket, "plain") != 0) {
		*why_r = "the connection security must be /ssl, /starttls or /plain";
		return -1;
	}
	if (hl >= WS_HOST_MAX) {
		*why_r = "the host name is too long";
		return -1;
	}
	memcpy(e->host, s, hl);
	e->host[hl] = '\0';
	if (!net_host_ok(e->host)) {
		*why_r = "the host name may hold letters, digits, dots and dashes only";
		return -1;
	}
	e->port = colon ? net_port_parse(colon + 1, end) : default_port(e->socket, imap);
	if (e->port < 0) {
		*why_r = "the port must be a number from 1 to 65535";
		return -1;
	}
	return 0;
}

/* url_host: the host of an imap:// or imaps:// URL into E->host. */
static int url_host(const char *url, struct ws_endpoint *e)
{
	const char *p = strstr(url, "://"), *end;
	size_t n;

	p = p ? p + 3 : url;
	end = p + strcspn(p, ":/");
	n = (size_t)(end - p);
	if (n == 0 || n >= WS_HOST_MAX)
		return -1;
	memcpy(e->host, p, n);
	e->host[n] = '\0';
	return net_host_ok(e->host) ? 0 : -1;
}

int ws_client_imap(const struct config *cfg, const char *sys, struct ws_endpoint *e,
		   const char **why_r)
{
	const char *v = config_sys_str(cfg, sys, "client_imap");

	if (v && *v)
		return ws_endpoint_parse(v, 1, "ssl", e, why_r);
	memset(e, 0, sizeof(*e));
	e->port = 993;
	snprintf(e->socket, sizeof(e->socket), "ssl");
	v = config_sys_str(cfg, sys, "imap");
	if (url_host(v ? v : "", e) < 0) {
		*why_r = "no client_imap, and the host of NAME_imap is not a usable host name";
		return -1;
	}
	return 0;
}

int ws_client_smtp(const struct config *cfg, const char *sys, struct ws_endpoint *e,
		   const char **why_r)
{
	const char *v = config_sys_str(cfg, sys, "client_smtp");

	memset(e, 0, sizeof(*e));
	if (v == NULL || *v == '\0')
		return 0;
	return ws_endpoint_parse(v, 0, "starttls", e, why_r);
}

int ws_client_hosts(const struct config *cfg, const char *sys, char hosts[][WS_HOST_MAX],
		    size_t max, const char **why_r)
{
	char *key = xasprintf("%s_client_hosts", sys);
	size_t n = 0;
	const char *const *w = config_list(cfg, key, &n);

	free(key);
	if (n > max) {
		*why_r = "too many client_hosts";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!net_host_ok(w[i])) {
			*why_r = "a client_hosts name may hold letters, digits, dots and dashes only";
			return -1;
		}
		snprintf(hosts[i], WS_HOST_MAX, "%s", w[i]);
	}
	return (int)n;
}

void ws_client_user(const struct config *cfg, const char *sys, const char *physical, char *out,
		    size_t size)
{
	const char *how = config_sys_str(cfg, sys, "client_user");
	const char *at = strrchr(physical, '@');

	if (how && strcmp(how, "localpart") == 0 && at)
		snprintf(out, size, "%.*s", (int)(at - physical), physical);
	else
		snprintf(out, size, "%s", physical);
}

static void add(char **err, const char *key, const char *name, const char *why)
{
	char *next = xasprintf("%s%s_%s: %s\n", *err ? *err : "", name, key, why);

	free(*err);
	*err = next;
}

int ws_conf_check(const struct config *cfg, char **err)
{
	size_t n, m;
	const char *const *sys = config_list(cfg, "systems", &n);
	const char *const *scn = config_list(cfg, "scenarios", &m);
	char hosts[WS_HOSTS_MAX][WS_HOST_MAX];
	struct ws_endpoint e;
	const char *why, *root;
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		const char *ci = config_sys_str(cfg, sys[i], "client_imap");

		if (ci && *ci && ws_client_imap(cfg, sys[i], &e, &why) < 0 && ++bad)
			add(err, "client_imap", sys[i], why);
		if (ws_client_smtp(cfg, sys[i], &e, &why) < 0 && ++bad)
			add(err, "client_smtp", sys[i], why);
		if (ws_client_hosts(cfg, sys[i], hosts, WS_HOSTS_MAX, &why) < 0 && ++bad)
			add(err, "client_hosts", sys[i], why);
	}
	for (size_t i = 0; i < m; i++) {
		root = config_sys_str(cfg, scn[i], "local_folder_root");
		if (root && !ws_root_ok(root) && ++bad)
			add(err, "local_folder_root", scn[i],
			    "1-255 bytes without control characters, '/' between levels only");
	}
	return bad ? -1 : 0;
}
