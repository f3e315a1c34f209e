/*
 * pq - what fedmig-spm reads from Postfix: the lines of "postqueue -j"
 * (one JSON object per message). The milter's status line is
 * lib/mstatus.h.
 *
 * pq_parse_msg(): parse one postqueue -j line (LEN bytes, no NUL needed)
 * into M: queue_name, queue_id and every recipients[].address (canonical
 * form, see addr.h; an address that does not normalise is kept as
 * given, truncated). Other members are skipped whatever they hold. Fails
 * (-1, *WHY_R static) on bad JSON, nesting deeper than 16, a missing
 * queue_id or queue_name, a queue id that is not one (qid.h), more
 * than PQ_MAX_RCPT recipients. Free M with pq_msg_clear() either way.
 *
 * pq_reader: feed any number of bytes; pq_feed() calls FN for every
 * complete line (parsed, or the error with its line number). Lines longer
 * than PQ_MAX_LINE are reported as errors and skipped. pq_finish()
 * handles a last line without a newline.
 */
#ifndef FEDMIG_SPM_PQ_H
#define FEDMIG_SPM_PQ_H

#include <stddef.h>

#include "addr.h"

#define PQ_MAX_RCPT 100000
#define PQ_MAX_LINE (16 * 1024 * 1024)

struct pq_msg {
	char queue_name[32];
	char queue_id[64];
	size_t nrcpt;
	char (*rcpt)[ADDR_MAX];
	size_t cap;
};

int pq_parse_msg(const char *line, size_t len, struct pq_msg *m, const char **why_r);
void pq_msg_clear(struct pq_msg *m);

/* FN gets the message, or NULL and the reason; nonzero stops feeding. */
typedef int (*pq_msg_fn)(void *ctx, const struct pq_msg *m, int line, const char *why);

struct pq_reader;
struct pq_reader *pq_reader_new(pq_msg_fn fn, void *ctx);
void pq_reader_free(struct pq_reader **r);
/* pq_feed: 0, or the nonzero value FN returned (then stop feeding). */
int pq_feed(struct pq_reader *r, const char *buf, size_t len);
int pq_finish(struct pq_reader *r);

#endif
