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
