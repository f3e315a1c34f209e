/*
 * apid_json - the JSON request bodies of the agent API (agent_spec.md
 * "Endpoints") and the results an agent reports, parsed and validated
 * before anything reaches the store. Pure functions: no I/O.
 *
 * Each returns 0, or -1 with a static sentence naming the field in
 * *WHY_R (answered as 400 bad-request). Bodies are at most
 * APID_JSON_MAX bytes (the HTTP layer answers 413 past it); unknown
 * members are ignored, so that a newer agent inside the accepted
 * version range can add some; a member of the wrong type is an error.
 */
#ifndef FEDMIG_APID_JSON_H
#define FEDMIG_APID_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "store_agent.h"

#define APID_JSON_MAX (4 << 20)
#define APID_SLOTS_MAX 256
#define APID_CODE_MAX 64

/* apid_json_load: BODY as a JSON object (caller decrefs). */
json_t *apid_json_load(const char *body, size_t len, const char **why_r);

/* POST /v1/enrol {"code": "..."}: CODE 1-63 printable characters. */
int apid_parse_enrol(json_t *o, char code[APID_CODE_MAX], const char **why_r);
/* POST /v1/poll {"slots": N, "wait": S}: N 0-256, S 0-3600 (seconds). */
int apid_parse_poll(json_t *o, int *slots_r, long long *wait_s_r, const char **why_r);

struct apid_heartbeat {
	char health[8];	  /* "ok" or "down" */
	char detail[256]; /* printable, may be empty */
	int slots;
	size_t ntasks;
	long long tasks[APID_SLOTS_MAX];
};
int apid_parse_heartbeat(json_t *o, struct apid_heartbeat *hb, const char **why_r);

/* POST /v1/tasks/REQ/next {"seq": S, "result": {...}}: *RESULT_R the
 * result object (borrowed from O) or NULL when absent or null. */
int apid_parse_next(json_t *o, long long *seq_r, json_t **result_r, const char **why_r);

/* The result of a test: {"ok": true} or {"ok": false, "permanent": B,
 * "reason": "..."} (REASON printable, cut to its size). */
int apid_result_test(json_t *r, int *ok_r, int *permanent_r, char reason[AGENT_REASON_MAX],
		     const char **why_r);
/* The result of a list: the folders (caller frees *F_R), names 1-1000
 * bytes without control characters, sep one printable character or "",
 * attrs an integer >= 0. */
int apid_result_list(json_t *r, struct agent_folder **f_r, size_t *n_r, const char **why_r);
/* The result of a get-items: {"count": N, "cursor": "...", "more": B}. */
int apid_result_items(json_t *r, long long *count_r, char cursor[AGENT_CURSOR_MAX], int *more_r,
		      const char **why_r);

/* The members every parser reads, each -1 when of the wrong type or
 * out of bounds: an integer in MIN..MAX (absent: DEF, or -1 when
 * REQUIRED); a printable string shorter than SIZE; a boolean. */
int apid_json_int(json_t *o, const char *name, long long min, long long max, int required,
		  long long def, long long *v_r);
int apid_json_str(json_t *o, const char *name, int required, char *buf, size_t size);
int apid_json_bool(json_t *o, const char *name, int required, int *b_r);

/* apid_folder_ok: a folder name as apid accepts it (see above). */
int apid_folder_ok(const char *name);

#endif
