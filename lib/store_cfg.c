/*
 * store_cfg - the store a configuration names (contract in store.h).
 */
#include "config.h"
#include "store.h"
#include "db.h"

struct store *store_open_config(const struct config *cfg, enum store_mode mode, uid_t uid,
				gid_t gid, char **err_r)
{
	const char *target = config_str(cfg, "state_database");
	int busy_ms = (int)config_time_ms(cfg, "store_busy_timeout");

	/* A file root creates is handed to the daemons' user; a database
	 * server's tables are its own. */
	if (mode == STORE_RDWR && !db_is_url(target) && (uid != (uid_t)-1 || gid != (gid_t)-1))
		return store_open_owned(target, busy_ms, uid, gid, err_r);
	return store_open_pw(target, mode, busy_ms,
			     config_str(cfg, "state_database_password_file"), err_r);
}
