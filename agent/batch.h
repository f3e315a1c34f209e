/*
 * batch - a get-items batch staged in agent_spool_directory before its
 * upload, in the body format of PUT /v1/tasks/REQ/batches/SEQ: per item
 * one JSON header line (src, flags, date, size, sha256) and the bytes.
 *
 * Contract: the files are unlinked as soon as made (O_TMPFILE), so a
 * dead migrator leaves nothing. A body streams to a scratch file while
 * it is hashed; batch_end() then appends the header and the body to the
 * batch: memory stays a 64 KiB buffer whatever the message size.
 * Returns 0, or -1 with *err_r.
 */
#ifndef FEDMIG_AGENT_BATCH_H
#define FEDMIG_AGENT_BATCH_H

#include <stddef.h>
#include <sys/types.h>

#define BATCH_HEADER_MAX 16384

struct batch;

struct batch *batch_new(const char *spool, char **err_r);
void batch_free(struct batch **b);
int batch_begin(struct batch *b, const char *key, const char *flags, const char *date,
		char **err_r);
int batch_data(struct batch *b, const char *d, size_t n, char **err_r);
int batch_end(struct batch *b, char **err_r);
/* batch_header: the header line of one item (caller frees), or NULL if over BATCH_HEADER_MAX. */
char *batch_header(const char *key, const char *flags, const char *date, unsigned long long size,
		   const char *sha256_hex);
int batch_fd(const struct batch *b);
off_t batch_size(const struct batch *b);
long long batch_count(const struct batch *b);
long long batch_bytes(const struct batch *b); /* message bytes */

#endif
