/*
 * sdnotify - tell systemd a daemon is ready (Type=notify units), without
 * libsystemd: one datagram "READY=1" to the unix socket named in
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).
 *
 * Contract: sd_ready() does nothing when NOTIFY_SOCKET is unset (started
 * by hand, by the tests or by another supervisor). It unsets the variable,
 * so that no child (fedmig-smd's copiers, the root helper's postsuper)
 * ever speaks for the daemon. A failure is logged as a warning, never
 * fatal: systemd then times the start out and says so. Call it once the
 * sockets listen and privileges are dropped, from the main process.
 */
#ifndef FEDMIG_SDNOTIFY_H
#define FEDMIG_SDNOTIFY_H

void sd_ready(void);

#endif
