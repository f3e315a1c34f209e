#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static const char *log_name = "fedmig";
static enum log_dest log_dest = LOG_TO_STDERR;
static int log_verbose;

static const struct {
	const char *name;
	int facility;
} facilities[] = {
	{"mail", LOG_MAIL},     {"daemon", LOG_DAEMON}, {"user", LOG_USER},
	{"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
	{"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
	{"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

static int facility_code(const char *name)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(facilities[i].name, name) == 0)
			return facilities[i].facility;
	return -1;
}

int log_facility_ok(const char *name)
{
	return facility_code(name) >= 0;
}

void log_init(const char *prog, enum log_dest dest, const char *facility)
{
	int fac = facility ? facility_code(facility) : LOG_MAIL;

	log_name = prog;
	log_dest = dest;
	if (dest == LOG_TO_SYSLOG)
		openlog(prog, LOG_PID | LOG_NDELAY, fac < 0 ? LOG_MAIL : fac);
}

void log_set_verbose(int verbose)
{
	log_verbose = verbose;
}

const char *log_prog(void)
{
	return log_name;
}

static void vlog(int pri, const char *level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void vlog(int pri, const char *level, const char *fmt, va_list ap)
{
	char raw[4096], buf[4096];
	size_t o = 0;

	vsnprintf(raw, sizeof(raw), fmt, ap);
	/* One message, one line: a CR, LF or other control byte from outside
	 * (a folder name, a server's reply, a script's error) would forge a
	 * line of its own or drive the terminal of whoever reads the log. */
	for (const unsigned char *p = (const unsigned char *)raw; *p && o + 5 < sizeof(buf); p++) {
		if (*p < 0x20 || *p == 0x7f)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02x", *p);
		else
			buf[o++] = (char)*p;
	}
	buf[o] = '\0';
	if (log_dest == LOG_TO_SYSLOG) {
		syslog(pri, "%s%s", level, buf);
		return;
	}
	char line[4400];
	int n = snprintf(line, sizeof(line), "%s[%ld]: %s%s\n", log_name,
			 (long)getpid(), level, buf);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	/* One write per line so lines of concurrent processes do not mix. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

#define LOG_BODY(pri, level)                                                   \
	do {                                                                   \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		vlog(pri, level, fmt, ap);                                     \
		va_end(ap);                                                    \
	} while (0)

void log_debug(const char *fmt, ...)
{
	if (log_verbose)
		LOG_BODY(LOG_DEBUG, "");
}

void log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, "");
}

void log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, "warning: ");
}

void log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_ERR, "error: ");
}

void log_fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, "fatal: ");
	exit(1);
}
