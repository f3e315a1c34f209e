/*
 * apid_status - fedmig-apid's read-only views for administrators: GET
 * /status (the page, with /status.css and /status.js), /status.json (what
 * the page draws) and /metrics (Prometheus text format 0.0.4), behind a
 * viewer's credential (HTTP Basic, lib/store_viewer.h), never an agent's.
 * fedmig-apid(8) lists every member and metric.
 *
 * The builders (status_json, status_metrics) and the query parser take
 * no lock and know nothing of HTTP: apid_status.c calls them with the
 * store locked; the unit tests and the fuzz target call them directly.
 */
#ifndef FEDMIG_APID_STATUS_H
#define FEDMIG_APID_STATUS_H

#include <stddef.h>

#include <jansson.h>

#include "store.h"
#include "store_status.h"
#include "store_viewer.h"

/* Rows of the address table per page: default and most. */
#define STATUS_PER_PAGE 100
#define STATUS_PER_PAGE_MAX 500
#define STATUS_PAGE_MAX 100000
#define STATUS_SEARCH_MAX 255
/* The raw query string the parser takes at most, and its pairs. */
#define STATUS_QUERY_MAX 2048
#define STATUS_QUERY_PAIRS 8
/* Failures listed in the JSON (the count of all is in "attention"). */
#define STATUS_FAILURES_MAX 50
/* Bins of the time series plotted. */
#define STATUS_BINS 40

/* The parameters of GET /status.json, each optional, each once. */
struct status_query {
	long long batch;   /* 0: every batch */
	long long since;   /* µs; "unchanged" when nothing changed after it */
	long long request; /* > 0: that request's detail instead */
	int page, per_page;
	char search[STATUS_SEARCH_MAX + 1]; /* substring of the address, any case */
	unsigned seen;			    /* the keys given, a bit each */
};

void status_query_init(struct status_query *q);
/* status_query_set: one decoded KEY=VALUE (VALUE NULL: "KEY" alone); -1
 * with a static reason in *WHY_R for an unknown or repeated key or a
 * value out of its range. */
int status_query_set(struct status_query *q, const char *key, const char *value,
		     const char **why_r);
/* status_query_parse: the raw query string RAW (LEN bytes, no '?'):
 * '&'-separated pairs, %XX and '+' decoded, then status_query_set. */
int status_query_parse(struct status_query *q, const char *raw, size_t len, const char **why_r);

/* status_basic_parse: the Authorization header H as "Basic B64" of
 * "NAME:SECRET", NAME a viewer's name (store_viewer.h), SECRET 64 lower
 * hex digits, into NAME and SECRET; -1 when it is anything else. */
#define STATUS_SECRET_LEN 64
int status_basic_parse(const char *h, char name[VIEWER_NAME_MAX],
		       char secret[STATUS_SECRET_LEN + 1]);

/* status_json: the body of GET /status.json for Q at NOW (µs); NULL on a
 * store error (store_errmsg() says which). */
json_t *status_json(struct store *s, const struct status_query *q, long long now);

/* status_metrics: the /metrics text of SUM and, when RUN_DIR is not NULL,
 * of fedmig-policyd's lookup statistics file there (caller frees). */
char *status_metrics(const struct status_sum *sum, const char *run_dir);

#endif
