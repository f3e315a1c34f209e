#include <string.h>

#include "store_agent.h"
#include "store_int.h"
#include "store_req.h"
#include "store_ws.h"

int store_ws_agent_add(struct store *s, const char *name, const unsigned char *code_hash,
		       long long expires, long long now, const char *address)
{
	int own, rc, attempt = 0;
	struct db_stmt *st;

	do {
		if (store_own_begin(s, &own) < 0)
			return STORE_ERR;
		rc = store_agent_add(s, name, code_hash, expires, now, "");
		if (rc == STORE_OK) {
			st = store_prepare(s, "UPDATE agents SET kind = 'workstation', address = ?2"
					      " WHERE name = ?1");
			if (st == NULL)
				rc = STORE_ERR;
			else {
				db_bind_text(st, 1, name);
				db_bind_text(st, 2, address);
				rc = store_run(s, st, "add workstation agent");
			}
		}
		rc = store_own_end(s, own, rc);
	} while (store_own_retry(s, own, rc, &attempt));
	return rc;
}

static int report_row(struct store *s, const struct ws_report *w)
{
	struct db_stmt *st = store_prepare(s, "INSERT INTO ws_reports(request_id, at, step, ok,"
					    " detail, data) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, w->request_id);
	db_bind_int64(st, 2, w->at);
	db_bind_text(st, 3, w->step);
	db_bind_int64(st, 4, w->ok ? 1 : 0);
	db_bind_text(st, 5, w->detail);
	db_bind_text(st, 6, w->data);
	return store_run(s, st, "store workstation report");
}

int store_ws_report_add(struct store *s, const struct ws_report *w, int state,
			const char *hist_step, const char *hist_detail)
{
	int own, rc, attempt = 0;

	do {
		if (store_own_begin(s, &own) < 0)
			return STORE_ERR;
		rc = report_row(s, w);
		if (rc == STORE_OK)
			rc = store_req_note(s, w->request_id, w->at, state, hist_step, hist_detail);
		if (rc == STORE_OK && strcmp(w->step, "check") == 0)
			rc = store_check_add(s, w->request_id, w->at, w->ok, w->detail);
		rc = store_own_end(s, own, rc);
	} while (store_own_retry(s, own, rc, &attempt));
	return rc;
}

int store_ws_last(struct store *s, long long req, const char *step, long long since,
		  long long *at_r, int *ok_r)
{
	struct db_stmt *st = store_prepare(s, "SELECT at, ok FROM ws_reports WHERE request_id = ?1"
					    " AND step = ?2 AND at >= ?3 ORDER BY at DESC, id DESC"
					    " LIMIT 1");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, req);
	db_bind_text(st, 2, step);
	db_bind_int64(st, 3, since);
	rc = db_step(st);
	if (rc == DB_ROW) {
		*at_r = db_column_int64(st, 0);
		*ok_r = (int)db_column_int64(st, 1);
	}
	db_reset(st);
	if (rc == DB_ROW)
		return STORE_OK;
	return rc == DB_DONE ? STORE_NOTFOUND : store_fail(s, "read workstation report");
}
