/*
 * apid_ws_json - the bodies of the workstation endpoints (brief WS,
 * fedmig-apid(8)): POST /v1/ws/next {"version": "X"} and POST
 * /v1/ws/report, parsed and validated before anything reaches the
 * store. Pure functions, like apid_json.h (the same rules: unknown
 * members ignored, a member of the wrong type or out of bounds is an
 * error, a refusal names the field in *WHY_R, a static sentence).
 */
#ifndef FEDMIG_APID_WS_JSON_H
#define FEDMIG_APID_WS_JSON_H

#include <jansson.h>

#include "store_ws.h"

#define WS_COUNT_MAX 1000000000000000LL /* 10^15: beyond any mailbox */

/* A report as the agent sent it. */
struct ws_report_in {
	long long request;
	char step[WS_STEP_MAX]; /* check switch test repair cleanup rollback */
	int ok;
	char detail[WS_DETAIL_MAX]; /* one printable line, <= 400 bytes */
	char profile[256];
	char local_format[8]; /* "", mbox, maildir, none */
	/* -1: not sent */
	long long folders, messages, bytes, changed;
};

/* {"version": "X"}: X 1-15 printable bytes (the header is what counts). */
int apid_ws_parse_next(json_t *o, char version[16], const char **why_r);
/* The report body. */
int apid_ws_parse_report(json_t *o, struct ws_report_in *r, const char **why_r);
/* apid_ws_data: R's optional members as the JSON text ws_reports.data
 * keeps, into BUF (WS_DATA_MAX; "{}" when none was sent). */
void apid_ws_data(const struct ws_report_in *r, char buf[WS_DATA_MAX]);

#endif
