/*
 * ws_conf - what a workstation agent is told about a request's mail
 * client settings, from fedmig.conf: per system NAME, NAME_client_imap
 * and NAME_client_smtp (HOST[:PORT][/ssl|/starttls|/plain]),
 * NAME_client_hosts (further host names of that system), NAME_client_user
 * (address|localpart); per scenario, local_folder_root. Every value goes
 * into a user's mail client profile, so each is checked for that sink:
 * host names are letters, digits, dots and dashes only, ports 1-65535,
 * the folder root has no control bytes ('/' is its hierarchy).
 * Pure functions of the config: no I/O.
 */
#ifndef FEDMIG_WS_CONF_H
#define FEDMIG_WS_CONF_H

#include "config.h"
#include "netname.h"

#define WS_HOST_MAX NET_HOST_MAX
#define WS_HOSTS_MAX 16
#define WS_ROOT_MAX 256

struct ws_endpoint {
	char host[WS_HOST_MAX]; /* "": none (SMTP not rewritten) */
	int port;
	char socket[10]; /* ssl, starttls, plain */
};

/* ws_root_ok: a folder root: 1-255 bytes, no control bytes, no empty
 * level ('/' at either end or twice). */
int ws_root_ok(const char *s);
/* ws_endpoint_parse: HOST[:PORT][/SOCKET] into E; without a socket,
 * SOCKET; without a port, the socket's usual one for IMAP (IMAP != 0:
 * 993 or 143) or submission (465 or 587). -1 with *WHY_R when not valid. */
int ws_endpoint_parse(const char *s, int imap, const char *socket, struct ws_endpoint *e,
		      const char **why_r);

/* ws_client_imap / ws_client_smtp: system SYS's endpoint users' clients
 * use (client_imap, else the host of SYS_imap on 993/ssl; client_smtp,
 * else none). -1 with *WHY_R when the value is not valid. */
int ws_client_imap(const struct config *cfg, const char *sys, struct ws_endpoint *e,
		   const char **why_r);
int ws_client_smtp(const struct config *cfg, const char *sys, struct ws_endpoint *e,
		   const char **why_r);
/* ws_client_hosts: SYS_client_hosts, each valid, at most WS_HOSTS_MAX;
 * their number, -1 with *WHY_R when one is not valid. */
int ws_client_hosts(const struct config *cfg, const char *sys, char hosts[][WS_HOST_MAX],
		    size_t max, const char **why_r);
/* ws_client_user: the login users of SYS type, from the mailbox address
 * PHYSICAL (the whole address or its local part), into OUT (ADDR_MAX). */
void ws_client_user(const struct config *cfg, const char *sys, const char *physical, char *out,
		    size_t size);

/* ws_conf_check: every system's and scenario's workstation keys, and no
 * scenario with local_data beside a system read by a server agent (one
 * agent task per request); a line per error appended to *ERR
 * (allocated), 0 when all are valid. */
int ws_conf_check(const struct config *cfg, char **err);

#endif
