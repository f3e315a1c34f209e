#include "store_int.h"
#include "store_lead.h"

int store_lead_try(struct store *s, const char *name)
{
	int rc = db_lock_try(store_dbh(s), name);

	return rc < 0 ? store_fail(s, "take the lead") : rc;
}

int store_lead_held(struct store *s)
{
	int rc = db_lock_held(store_dbh(s));

	return rc < 0 ? store_fail(s, "check the lead") : rc;
}

int store_lead_keep(struct store *s, const char *name, int *retaken_r)
{
	int rc = store_lead_held(s);

	*retaken_r = 0;
	if (rc == 1 || rc == STORE_ERR) /* the store is away: what needs it fails too */
		return 1;
	rc = store_lead_try(s, name);
	*retaken_r = rc == 1;
	return rc != 0;
}
