#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secrets.h"
#include "smd.h"
#include "store_pim.h"
#include "xalloc.h"

int smd_read_credentials(const char *path, char **user_r, char **password_r, char **err_r)
{
	char *buf;
	size_t len;
	int rc;

	*user_r = *password_r = NULL;
	if (secrets_read(path, &buf, &len, err_r) < 0)
		return -1;
	rc = secrets_value(buf, len, path, "master_user", user_r, err_r);
	if (rc == 0)
		rc = secrets_value(buf, len, path, "master_password", password_r, err_r);
	secrets_free(buf, len);
	if (rc == 0 && **user_r == '\0')
		rc = 1;
	if (rc == 0)
		return 0;
	if (rc > 0)
		*err_r = xasprintf("%s: master_user and master_password are required", path);
	free(*user_r);
	*user_r = NULL;
	secrets_wipe(password_r);
	return -1;
}

int smd_read_user_password(const char *path, const char *login, char **password_r, char **err_r)
{
	char *buf;
	size_t len;
	int rc;

	if (secrets_read(path, &buf, &len, err_r) < 0)
		return -1;
	rc = secrets_user(buf, len, path, login, password_r, err_r);
	secrets_free(buf, len);
	if (rc > 0)
		*err_r = xasprintf("%s: no password for %s", path, login);
	return rc == 0 ? 0 : -1;
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
	const char *stls = config_sys_str(cfg, system, "imap_starttls");
	int as_user = strcmp(config_sys_str(cfg, system, "imap_auth"), "user") == 0;
	const char *key = as_user ? "user_passwords" : "credentials";
	const char *file = config_sys_str(cfg, system, key);

	if (*url == '\0' || *file == '\0') {
		*err_r = xasprintf("system %s: %s_imap and %s_%s are required", system, system,
				   system, key);
		return -1;
	}
	if (as_user) {
		user = NULL;
		if (smd_read_user_password(file, login, &pass, err_r) < 0)
			return -1;
	} else if (smd_read_credentials(file, &user, &pass, err_r) < 0) {
		return -1;
	}
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
	secrets_wipe((char **)&side->password);
	memset(side, 0, sizeof(*side));
}

char *smd_mailbox_key(const char *src_system, const char *src_login, const char *dst_system,
		      const char *dst_login)
{
	return store_pim_mailbox_key(src_system, src_login, dst_system, dst_login);
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
	o->store_password_file = config_str(cfg, "state_database_password_file");
	o->settle_ms = (int)config_time_ms(cfg, "smd_settle");
	/* Test hooks (tests/integ/smd_crash.sh): never set in production. */
	if ((e = getenv("FEDMIG_SMD_CRASH_AFTER")) != NULL)
		o->crash_after = atol(e);
	if ((e = getenv("FEDMIG_SMD_CRASH_MID")) != NULL)
		o->crash_mid = atol(e);
	if ((e = getenv("FEDMIG_SMD_CRASH_DELTA")) != NULL)
		o->crash_delta = atol(e);
}
