/*
 * log - one line per event, Postfix style: "ID: event key=value ...".
 *
 * Contract: log_init() once at start; before it, messages go to stderr.
 * Lines go to syslog (facility from the config) or to stderr with
 * log_init(..., LOG_TO_STDERR), prefixed "prog[pid]: " on stderr the way
 * syslog shows them. Never pass secrets. log_fatal() logs and exits 1 so a
 * supervisor backs off (Postfix msg_fatal).
 */
#ifndef FEDMIG_LOG_H
#define FEDMIG_LOG_H

#include <stdarg.h>

enum log_dest { LOG_TO_SYSLOG, LOG_TO_STDERR };

void log_init(const char *prog, enum log_dest dest, const char *facility);
/* log_facility_ok: 1 if NAME is a syslog facility log_init accepts. */
int log_facility_ok(const char *name);
void log_set_verbose(int verbose);
const char *log_prog(void);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
