/*
 * peer - how fedmig-policyd names what a client sent and who the client
 * is, in its log lines.
 *
 * peer_printable() copies N bytes of S into OUT (SIZE bytes, always
 * NUL-terminated, cut to fit) with control bytes as '?', and returns OUT.
 * peer_describe() writes FD's peer into BUF: "ADDR:PORT", "[ADDR6]:PORT",
 * "unix:pid=P,uid=U" (SO_PEERCRED), or "unknown".
 */
#ifndef FEDMIG_POLICYD_PEER_H
#define FEDMIG_POLICYD_PEER_H

#include <stddef.h>

const char *peer_printable(const char *s, size_t n, char *out, size_t size);
void peer_describe(int fd, char *buf, size_t size);

#endif
