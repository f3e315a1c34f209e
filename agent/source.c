/*
 * source - which reader a task gets, the Maildir of a mailbox, and the
 * local store's health for the heartbeat (source.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy.h"
#include "imap.h"
#include "maildir.h"
#include "smd.h"
#include "source.h"
#include "xalloc.h"

/* part_ok: a local part or domain that is safe as one path component. */
static int part_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '/')
			return 0;
	return 1;
}

char *source_maildir_path(const char *tmpl, const char *mailbox, char **err_r)
{
	const char *at = strrchr(mailbox, '@');
	size_t ul = at ? (size_t)(at - mailbox) : strlen(mailbox);
	const char *dom = at ? at + 1 : "";
	char *out = xstrdup(""), *next;
	const char *p;

	if (!part_ok(mailbox, ul) || (at && !part_ok(dom, strlen(dom)))) {
		*err_r = xasprintf("mailbox %s: not safe in a path", mailbox);
		free(out);
		return NULL;
	}
	for (p = tmpl; *p; p++) {
		if (*p == '%' && (p[1] == 'u' || p[1] == 'd' || p[1] == 'a')) {
			next = p[1] == 'u'   ? xasprintf("%s%.*s", out, (int)ul, mailbox)
			       : p[1] == 'd' ? xasprintf("%s%s", out, dom)
					     : xasprintf("%s%s", out, mailbox);
			p++;
		} else {
			next = xasprintf("%s%c", out, *p);
		}
		free(out);
		out = next;
	}
	return out;
}

struct source *source_open(const struct config *cfg, const char *system, const char *mailbox,
			   char **err_r)
{
	const char *tmpl;
	char *root;
	struct source *s;

	if (!config_has_system(cfg, system)) {
		*err_r = xasprintf("system %s: not in $systems of this agent", system);
		return NULL;
	}
	tmpl = config_sys_str(cfg, system, "maildir");
	if (*tmpl == '\0')
		return src_imap_new(cfg, system, mailbox, err_r);
	if ((root = source_maildir_path(tmpl, mailbox, err_r)) == NULL)
		return NULL;
	s = src_maildir_new(root);
	free(root);
	return s;
}

/* maildir_health: the fixed part of the template (before any %) readable. */
static int maildir_health(const char *tmpl, char **err_r)
{
	char *dir = xstrndup(tmpl, strcspn(tmpl, "%"));
	char *slash = strrchr(dir, '/');
	int fd;

	if (slash != NULL && strchr(tmpl, '%') != NULL)
		slash[slash == dir] = '\0';
	fd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		*err_r = xasprintf("%s: %s", dir, strerror(errno));
	else
		close(fd);
	free(dir);
	return fd < 0 ? -1 : 0;
}

int source_health(const struct config *cfg, const char *system, char **err_r)
{
	const char *tmpl = config_sys_str(cfg, system, "maildir");
	struct imap_opts o = {0};
	struct imap_conn *c;

	if (*tmpl != '\0')
		return maildir_health(tmpl, err_r);
	o.url = config_sys_str(cfg, system, "imap");
	if (*o.url == '\0') {
		*err_r = xasprintf("system %s: neither %s_maildir nor %s_imap is set", system,
				   system, system);
		return -1;
	}
	o.starttls = strcmp(config_sys_str(cfg, system, "imap_starttls"), "no") == 0
			     ? IMAP_TLS_NONE
			     : IMAP_STARTTLS_MAY;
	o.tls_verify = config_bool(cfg, "tls_verify");
	o.ca_file = config_str(cfg, "tls_ca_file");
	o.timeout_ms = 10000;
	if ((c = imap_connect(&o, err_r)) == NULL)
		return -1;
	imap_close(&c);
	return 0;
}
