/*
 * copy - copy one mailbox from a source IMAP server to a target one:
 * folders (separator translated, special-use mapped, \Noselect parents
 * left virtual), subscriptions, and every message with its exact bytes,
 * flags, keywords and INTERNALDATE; then verify: bytes by SHA-256, flags,
 * keywords and INTERNALDATE per message, folders and subscriptions.
 *
 * Messages stream from a pipelined UID FETCH straight into pipelined
 * MULTIAPPEND batches with non-synchronising literals: nothing is held in
 * memory but a read buffer, so a child's RSS does not depend on message
 * or folder sizes. Each acknowledged batch (APPENDUID) is journalled in
 * the store in one transaction; a rerun copies only unjournalled
 * messages, and first looks on the target for messages appended but not
 * journalled (a crash between the server's OK and the commit): same size,
 * then same SHA-256, as a multiset, so legitimate duplicates in the
 * source are still copied as often as they exist. Flags changed on the
 * source since an earlier run copied a message are brought over.
 *
 * With lanes = N > 1, N - 1 more processes (forked once the target's
 * folders exist) copy folders too, each over its own pair of connections:
 * folders are claimed one at a time from a shared counter, so the lanes
 * balance themselves. The target's server then works in two processes,
 * and each lane's waits (round trips, the server's fsync) overlap the
 * other's work.
 *
 * Contract: copy_mailbox() returns COPY_OK when every selectable source
 * folder was copied and verified, COPY_STOPPED when *stop was set (the
 * journal is consistent; a rerun resumes), COPY_FAILED with the reason
 * in r->reason (and every difference found by verification, one per
 * line, up to its size). It never leaves part of a message on the
 * target: a failure mid-message drops the connection inside the literal,
 * so the server discards the unfinished APPEND.
 */
#ifndef FEDMIG_SMD_COPY_H
#define FEDMIG_SMD_COPY_H

#include <signal.h>
#include <stdio.h>

#include "imap.h"
#include "store_smd.h"

struct copy_side {
	struct imap_opts imap;
	const char *user;	/* mailbox login, e.g. alice@s1.example.org */
	const char *master;	/* master user or NULL: log in as USER */
	const char *master_sep; /* NULL: SASL PLAIN authzid; "*": Dovecot */
	const char *password;
};

struct drv;
struct throttle_conf;

struct copy_opts {
	struct copy_side src, dst;
	/*
	 * The source when it is not IMAP through src (an agent's data
	 * buffer, smd/drv_buffer.h): a driver from this factory, called once
	 * per lane with that lane's store handle; NULL with *err_r (caller
	 * frees) when it cannot be had.
	 */
	struct drv *(*src_driver)(void *ctx, struct store *store, char **err_r);
	void *src_driver_ctx;
	/* The source's session limits and back-off (smd/throttle.h), or NULL. */
	const struct throttle_conf *throttle;
	struct store *store;
	const char *mailbox_key; /* journal key naming both ends */
	const char *dst_root;	 /* every folder below this one ('/' levels), NULL: none */
	struct smd_job_key job;	 /* request_id > 0: progress goes to this job */
	size_t window;		 /* bytes in flight per direction */
	int batch;		 /* messages per MULTIAPPEND */
	int lanes;		 /* folders copied at once, one connection per side each */
	int lane_messages;	 /* a lane more per this many source messages */
	const char *store_path;	 /* for the other lanes' own store handles */
	int store_busy_ms;
	const char *store_password_file; /* state_database_password_file, or NULL */
	int settle_ms;		 /* an interrupted folder: wait before looking for its orphans */
	/* tests: _exit(COPY_EXIT_CRASH_AFTER) once N appends are acked, before
	 * the journal; _exit(COPY_EXIT_CRASH_MID) inside message N's literal */
	long crash_after;
	long crash_mid;
	volatile sig_atomic_t *stop;
	FILE *summary; /* per-folder lines, or NULL */
	/*
	 * Which side wins a rerun (a delta pass, smd/copy_delta.h): 0 the
	 * source (before the switch: a pre-stage pass, SMD_PRESTAGE, or
	 * fedmig-smd --prestage), 1 three-way with the journal as the base
	 * (after the switch: the user works on the target).
	 */
	int switched;
	/* tests: _exit(COPY_EXIT_CRASH_AFTER) once N flag stores or expunges
	 * of a delta pass are acknowledged, before the journal */
	long crash_delta;
};

enum copy_rc { COPY_OK = 0, COPY_FAILED = 1, COPY_STOPPED = 2 };
/* The exit statuses of the test hooks (crash_mid, crash_after): the process
 * that copies dies with them at once, a lane's passed up by its parent. */
enum copy_crash_exit { COPY_EXIT_CRASH_MID = 98, COPY_EXIT_CRASH_AFTER = 99 };

/*
 * Counts, the same in every line and in the job's progress: MESSAGES in
 * the source folders; COPIED appended by this run, FOUND appended by an
 * interrupted run and recognised on the target by hash, SKIPPED
 * journalled by an earlier run: done = copied + found + skipped, and a
 * complete copy has done == messages and verified == folders.
 */
struct copy_result {
	long long folders, messages, bytes, copied, found, skipped, refused_keywords;
	long long verified;
	/* delta passes: flags stored, expunged on the target, the target's
	 * changes kept, deleted by the user on the target (never copied
	 * again), journal rows forgotten (gone from both sides), expunges
	 * not done (no UIDPLUS on the target) */
	long long d_flags, d_expunged, d_kept, d_gone, d_forgotten, d_skipped;
	char reason[4096];
};

int copy_mailbox(const struct copy_opts *o, struct copy_result *r);

#endif
