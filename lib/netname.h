/*
 * netname - the host names and ports fedmig accepts from its
 * configuration before they reach a mail client's profile, a URL or a
 * connection: names of letters, digits, dots and dashes only (no IDN, no
 * space, nothing a profile or URL could misread), ports 1-65535 in
 * decimal. Pure functions.
 */
#ifndef FEDMIG_NETNAME_H
#define FEDMIG_NETNAME_H

#define NET_HOST_MAX 254

/* net_host_ok: a DNS host name (or IPv4 address): 1-253 bytes of
 * letters, digits, '.', '-', not starting with '.' or '-'. */
int net_host_ok(const char *h);
/* net_port_parse: the decimal port 1-65535 from P up to END, or -1. */
int net_port_parse(const char *p, const char *end);

#endif
