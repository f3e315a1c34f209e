/*
 * proto_json - the JSON readers proto.c checks the server's answers
 * with, shared by the workstation's parser (ws_proto.c).
 *
 * Contract: ap_json_load gives BUF as a JSON object (duplicate keys
 * refused) or NULL with *err_r; ap_get_str copies the string member NAME
 * (no NUL inside, shorter than SIZE) into DST; ap_get_int the integer
 * member NAME in [MIN, MAX]; ap_bad sets *err_r for field NAME. Each
 * returns 0, or -1 with *err_r (caller frees).
 */
#ifndef FEDMIG_AGENT_PROTO_JSON_H
#define FEDMIG_AGENT_PROTO_JSON_H

#include <jansson.h>
#include <stddef.h>

json_t *ap_json_load(const char *buf, size_t len, char **err_r);
int ap_get_str(json_t *o, const char *name, char *dst, size_t size, char **err_r);
int ap_get_int(json_t *o, const char *name, long long min, long long max, long long *v_r,
	       char **err_r);
int ap_bad(const char *name, const char *why, char **err_r);

#endif
