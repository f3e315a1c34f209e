#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "sdnotify.h"

/* notify_addr: ADDR from NAME; its length, or 0 if NAME cannot be one. */
static socklen_t notify_addr(const char *name, struct sockaddr_un *addr)
{
	size_t len = strlen(name);

	if ((name[0] != '/' && name[0] != '@') || len < 2 || len > sizeof(addr->sun_path))
		return 0;
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	memcpy(addr->sun_path, name, len);
	if (name[0] == '@')
		addr->sun_path[0] = '\0';
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

void sd_ready(void)
{
	static const char msg[] = "READY=1";
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un addr;
	socklen_t alen;
	int fd;

	if (name == NULL)
		return;
	if ((alen = notify_addr(name, &addr)) == 0) {
		log_warn("NOTIFY_SOCKET is not a unix socket path; systemd is not told we are ready");
	} else if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		log_warn("cannot tell systemd we are ready: socket: %s", strerror(errno));
	} else {
		if (sendto(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL, (struct sockaddr *)&addr, alen) < 0)
			log_warn("cannot tell systemd we are ready: %s: %s", name, strerror(errno));
		close(fd);
	}
	unsetenv("NOTIFY_SOCKET");
}
