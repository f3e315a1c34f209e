/*
 * paths - what configure decides at build time: the version and where
 * fedmig's files live.
 *
 * The Makefile passes FEDMIG_VERSION (AC_INIT in configure.ac, the one
 * place the version is written), FEDMIG_SYSCONFDIR, FEDMIG_LOCALSTATEDIR
 * and FEDMIG_RUNSTATEDIR from config.mk as -D flags. The fallbacks below
 * are what "./configure --prefix=/usr --sysconfdir=/etc
 * --localstatedir=/var" gives (configure takes /run for runstatedir
 * then), for a compiler run outside the Makefile (an editor, a linter).
 *
 * Contract: string literals only, so they concatenate at compile time
 * (config_keys.def builds its defaults from them).
 */
#ifndef FEDMIG_PATHS_H
#define FEDMIG_PATHS_H

#ifndef FEDMIG_VERSION
#define FEDMIG_VERSION "0.1"
#endif
#ifndef FEDMIG_SYSCONFDIR
#define FEDMIG_SYSCONFDIR "/etc"
#endif
#ifndef FEDMIG_LOCALSTATEDIR
#define FEDMIG_LOCALSTATEDIR "/var"
#endif
#ifndef FEDMIG_RUNSTATEDIR
#define FEDMIG_RUNSTATEDIR "/run"
#endif

/* fedmig.conf when -c is not given. */
#define FEDMIG_CONF_DEFAULT FEDMIG_SYSCONFDIR "/fedmig/fedmig.conf"
/* The daemons' state (the database, the agents' spool) and their run
 * directory (sockets, pid and lock files): the defaults of state_database,
 * apid_spool_directory, run_directory and the sockets. */
#define FEDMIG_STATE_DIR FEDMIG_LOCALSTATEDIR "/lib/fedmig"
#define FEDMIG_RUN_DIR FEDMIG_RUNSTATEDIR "/fedmig"
/* fedmig-agent's own state, on the hosts it runs on. */
#define FEDMIG_AGENT_STATE_DIR FEDMIG_LOCALSTATEDIR "/lib/fedmig-agent"

#endif
