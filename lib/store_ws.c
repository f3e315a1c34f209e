#include <string.h>

#include "store_agent.h"
#include "store_int.h"
#include "store_req.h"
#include "store_ws.h"

int store_ws_agent_add(struct store *s, const char *name, const unsigned char *code_hash,
		       long long expires, long long now, const char *address)
{
	int own, rc;
	sqlite3_stmt *st;

	if (store_own_begin(s, &own) < 0)
		return STORE_ERR;
	rc = store_agent_add(s, name, code_hash, expires, now, "");
	if (rc == STORE_OK) {
		st = store_prepare_sq(s, "UPDATE agents SET kind = 'workstation', address = ?2"
				      " WHERE name = ?1");
		if (st == NULL)
			rc = STORE_ERR;
		else {
			sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, address, -1, SQLITE_STATIC);
			rc = store_run_sq(s, st, "add workstation agent");
		}
	}
	return store_own_end(s, own, rc);
}

static int report_row(struct store *s, const struct ws_report *w)
{
	sqlite3_stmt *st = store_prepare_sq(s, "INSERT INTO ws_reports(request_id, at, step, ok,"
					    " detail, data) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, w->request_id);
	sqlite3_bind_int64(st, 2, w->at);
	sqlite3_bind_text(st, 3, w->step, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, w->ok ? 1 : 0);
	sqlite3_bind_text(st, 5, w->detail, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, w->data, -1, SQLITE_STATIC);
	return store_run_sq(s, st, "store workstation report");
}

int store_ws_report_add(struct store *s, const struct ws_report *w, int state,
			const char *hist_step, const char *hist_detail)
{
	int own, rc;

	if (store_own_begin(s, &own) < 0)
		return STORE_ERR;
	rc = report_row(s, w);
	if (rc == STORE_OK)
		rc = store_req_note(s, w->request_id, w->at, state, hist_step, hist_detail);
	if (rc == STORE_OK && strcmp(w->step, "check") == 0)
		rc = store_check_add(s, w->request_id, w->at, w->ok, w->detail);
	return store_own_end(s, own, rc);
}

int store_ws_last(struct store *s, long long req, const char *step, long long since,
		  long long *at_r, int *ok_r)
{
	sqlite3_stmt *st = store_prepare_sq(s, "SELECT at, ok FROM ws_reports WHERE request_id = ?1"
					    " AND step = ?2 AND at >= ?3 ORDER BY at DESC, id DESC"
					    " LIMIT 1");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, req);
	sqlite3_bind_text(st, 2, step, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, since);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*at_r = sqlite3_column_int64(st, 0);
		*ok_r = sqlite3_column_int(st, 1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_NOTFOUND : store_fail_sq(s, "read workstation report");
}
