#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smd.h"
#include "xalloc.h"

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

int smd_read_credentials(const char *path, char **user_r, char **password_r, char **err_r)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	FILE *fp;
	char line[1024];
	int lineno = 0;

	*user_r = *password_r = NULL;
	if (fd < 0) {
		*err_r = xasprintf("open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*err_r = xasprintf("credentials %s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		*err_r = xasprintf("credentials %s: mode %04o is readable by group or others; "
				   "it must be 0600 (chmod 600 %s)",
				   path, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return -1;
	}
	fp = fdopen(fd, "r");
	while (fgets(line, sizeof(line), fp)) {
		char *l = trim(line), *eq;

		lineno++;
		if (*l == '\0' || *l == '#')
			continue;
		eq = strchr(l, '=');
		if (eq == NULL) {
			*err_r = xasprintf("%s:%d: expected name = value", path, lineno);
			goto fail;
		}
		*eq = '\0';
		char *k = trim(l), *v = trim(eq + 1);

		if (strcmp(k, "master_user") == 0) {
			free(*user_r);
			*user_r = xstrdup(v);
		} else if (strcmp(k, "master_password") == 0) {
			if (*password_r) {
				explicit_bzero(*password_r, strlen(*password_r));
				free(*password_r);
			}
			*password_r = xstrdup(v);
		}
		/* Other names belong to other parts (provisioning). */
	}
	explicit_bzero(line, sizeof(line));
	fclose(fp);
	if (*user_r == NULL || *password_r == NULL || **user_r == '\0') {
		*err_r = xasprintf("credentials %s: master_user and master_password are required",
				   path);
		goto fail2;
	}
	return 0;
fail:
	explicit_bzero(line, sizeof(line));
	fclose(fp);
fail2:
	free(*user_r);
	if (*password_r) {
		explicit_bzero(*password_r, strlen(*password_r));
		free(*password_r);
	}
	*user_r = *password_r = NULL;
	return -1;
}

int smd_side_init(const struct config *cfg, const char *system, const char *login,
		  struct copy_side *side, char **err_r)
{
	char *user, *pass;

	memset(side, 0, sizeof(*side));
	if (!config_has_system(cfg, system)) {
		*err_r = xasprintf("unknown system %s (not in $systems)", system);
		return -1;
	}
	const char *url = config_sys_str(cfg, system, "imap");
	const char *cred = config_sys_str(cfg, system, "credentials");
	const char *stls = config_sys_str(cfg, system, "imap_starttls");

	if (*url == '\0' || *cred == '\0') {
		*err_r = xasprintf("system %s: %s_imap and %s_credentials are required", system,
				   system, system);
		return -1;
	}
	if (smd_read_credentials(cred, &user, &pass, err_r) < 0)
		return -1;
	side->imap.url = url;
	side->imap.starttls = strcmp(stls, "no") == 0    ? IMAP_TLS_NONE
			      : strcmp(stls, "yes") == 0 ? IMAP_STARTTLS_YES
							 : IMAP_STARTTLS_MAY;
	side->imap.tls_verify = config_bool(cfg, "tls_verify");
	side->imap.ca_file = config_str(cfg, "tls_ca_file");
	side->imap.timeout_ms = (int)config_time_ms(cfg, "smd_io_timeout");
	side->user = xstrdup(login);
	side->master = user;
	side->password = pass;
	side->master_sep = strcmp(config_sys_str(cfg, system, "imap_master_login"), "separator") == 0
				   ? config_sys_str(cfg, system, "imap_master_separator")
				   : NULL;
	return 0;
}

void smd_side_free(struct copy_side *side)
{
	free((char *)side->user);
	free((char *)side->master);
	if (side->password) {
		explicit_bzero((char *)side->password, strlen(side->password));
		free((char *)side->password);
	}
	memset(side, 0, sizeof(*side));
}

char *smd_mailbox_key(const char *src_system, const char *src_login, const char *dst_system,
		      const char *dst_login)
{
	return xasprintf("%s:%s>%s:%s", src_system, src_login, dst_system, dst_login);
}

void smd_copy_opts(const struct config *cfg, struct copy_opts *o)
{
	const char *e;

	o->window = (size_t)config_int(cfg, "smd_window");
	o->batch = (int)config_int(cfg, "smd_batch");
	o->lanes = (int)config_int(cfg, "smd_lanes");
	o->lane_messages = (int)config_int(cfg, "smd_lane_messages");
	o->store_path = config_str(cfg, "state_database");
	o->store_busy_ms = (int)config_time_ms(cfg, "store_busy_timeout");
	/* Test hooks (tests/integ/smd_crash.sh): never set in production. */
	if ((e = getenv("FEDMIG_SMD_CRASH_AFTER")) != NULL)
		o->crash_after = atol(e);
	if ((e = getenv("FEDMIG_SMD_CRASH_MID")) != NULL)
		o->crash_mid = atol(e);
}
