/*
 * copy_env - the copy engine tests' shared pieces (see copy_env.h).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "copy_env.h"
#include "store_smd.h"
#include "testutil.h"

const char *const flagsets[] = {"\\Seen", "\\Seen \\Flagged $Work", ""};

void body_of(char letter, char *out, size_t size)
{
	snprintf(out, size,
		 "From: %c@example.org\r\nSubject: message %c\r\nMessage-ID: <%c@test>\r\n\r\n"
		 "body of %c\r\n",
		 letter, letter, letter, letter);
}

void date_of(char letter, char *out, size_t size)
{
	snprintf(out, size, "01-Feb-2021 10:00:%02d +0000", letter - 'a');
}

/* model_parse: SPEC into M (every folder subscribed). */
void model_parse(struct fake_model *m, const char *spec)
{
	char buf[512], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *fs = strtok_r(buf, "|", &save); fs; fs = strtok_r(NULL, "|", &save)) {
		char *eq = strchr(fs, '='), *hash = strchr(fs, '#');

		ck_assert(eq != NULL);
		*eq = '\0';
		if (hash)
			*hash = '\0';
		struct fake_folder *f = fake_folder_add(m, fs, hash ? (unsigned)atoi(hash + 1) : 1);

		f->subscribed = 1;
		for (char *t = eq + 1; t[0] && t[1]; t += t[2] == ',' ? 3 : 2) {
			char body[200], date[40];

			body_of(t[0], body, sizeof(body));
			date_of(t[0], date, sizeof(date));
			fake_msg_add(f, body, strlen(body), flagsets[t[1] - '0'], date);
		}
	}
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp((*(struct fake_folder *const *)a)->name, (*(struct fake_folder *const *)b)->name);
}

/* token: G as "a0" (letter and flags; '?' for a stranger). */
void token(const struct fake_msg *g, char out[3])
{
	char body[200];

	out[0] = out[1] = '?';
	out[2] = '\0';
	for (char l = 'a'; l <= 'f'; l++) {
		body_of(l, body, sizeof(body));
		if (g->len == strlen(body) && memcmp(g->body, body, g->len) == 0)
			out[0] = l;
	}
	for (int v = 0; v < 3; v++)
		if (strcmp(g->flags, flagsets[v]) == 0)
			out[1] = (char)('0' + v);
}

static int cmp_tok(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * model_repr: M as a spec without UIDVALIDITY, folders by name, each
 * folder's messages sorted: after a failure the order of arrival is not
 * the source's, and what counts is which messages, how often.
 */
void model_repr(const struct fake_model *m, char *out, size_t size)
{
	struct fake_folder **fs = calloc(m->nf + 1, sizeof(*fs));
	size_t n = 0;

	ck_assert_ptr_nonnull(fs);
	for (size_t i = 0; i < m->nf; i++)
		fs[i] = &m->f[i];
	qsort(fs, m->nf, sizeof(*fs), cmp_name);
	out[0] = '\0';
	for (size_t i = 0; i < m->nf && n < size; i++) {
		char (*t)[3] = calloc(fs[i]->n + 1, sizeof(*t));

		ck_assert_ptr_nonnull(t);
		for (size_t k = 0; k < fs[i]->n; k++)
			token(&fs[i]->m[k], t[k]);
		qsort(t, fs[i]->n, sizeof(*t), cmp_tok);
		n += (size_t)snprintf(out + n, size - n, "%s%s=", i ? "|" : "", fs[i]->name);
		for (size_t k = 0; k < fs[i]->n && n < size; k++)
			n += (size_t)snprintf(out + n, size - n, "%s%s", k ? "," : "", t[k]);
		free(t);
	}
	free(fs);
}



/*
 * env_start: the servers, the source stopping the run at its STOP_AT-th
 * body (0: never), with SPLIT the next body cut in two (fake_faults).
 */
void env_listen(struct env *e, const struct fake_faults *df, int stop_at, int split)
{
	struct fake_faults sf = {.stop = &e->stop, .stop_at = stop_at, .split_after_stop = split};

	e->stop = 0;
	e->s = fake_imap_listen(&e->src, &sf);
	e->d = fake_imap_listen(&e->dst, df);
	ck_assert(e->s && e->d);
}

void env_serve(struct env *e)
{
	ck_assert(fake_imap_serve(e->s) == 0 && fake_imap_serve(e->d) == 0);
}

void env_start(struct env *e, const struct fake_faults *df, int stop_at, int split)
{
	env_listen(e, df, stop_at, split);
	env_serve(e);
}

void env_stop(struct env *e)
{
	fake_imap_stop(&e->s);
	fake_imap_stop(&e->d);
}

void opts_init(struct env *e, struct copy_opts *o, struct store *st, int batch)
{
	memset(o, 0, sizeof(*o));
	o->src.imap = (struct imap_opts){fake_imap_url(e->s), IMAP_TLS_NONE, 0, NULL, e->timeout_ms};
	o->dst.imap = (struct imap_opts){fake_imap_url(e->d), IMAP_TLS_NONE, 0, NULL, e->timeout_ms};
	o->src.user = o->dst.user = "user@example.org";
	o->src.password = o->dst.password = "secret";
	o->store = st;
	o->mailbox_key = "k";
	o->window = 1 << 20;
	o->batch = batch > 0 ? batch : 2;
	o->lanes = 1;
	o->store_busy_ms = 2000;
	o->stop = &e->stop;
	o->switched = e->switched;
	o->crash_delta = e->crash_delta;
}

struct store *store_at(const char *path)
{
	char *err = NULL;
	struct store *st = tu_store_open(path, STORE_RDWR, 2000, &err);

	ck_assert_msg(st != NULL, "store: %s", err ? err : "?");
	return st;
}

/* run: one copy_mailbox against the running servers. */
int run(struct env *e, int batch, struct copy_result *r)
{
	struct store *st = store_at(e->db);
	struct copy_opts o;

	opts_init(e, &o, st, batch);
	int rc = copy_mailbox(&o, r);

	store_close(&st);
	return rc;
}

/*
 * run_crash: a copy in a child that dies at the test hook (CRASH_AFTER or
 * CRASH_MID). The servers are listening, not yet serving: they start
 * once the child is forked.
 */
void run_crash(struct env *e, int batch, long after, long mid)
{
	pid_t pid = fork();
	int st = 0;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct store *s = store_at(e->db);
		struct copy_opts o;
		struct copy_result r;

		opts_init(e, &o, s, batch);
		o.crash_after = after;
		o.crash_mid = mid;
		_exit(copy_mailbox(&o, &r) == COPY_OK ? 0 : 1);
	}
	env_serve(e);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == (after || e->crash_delta ? 99 : 98),
		      "the crash hook did not fire (status %d)", st);
}


/* flags_of: the flags of the message with LETTER's body in FOLDER, NULL when absent. */
const char *flags_of(struct fake_model *m, const char *folder, char letter)
{
	struct fake_folder *f = fake_folder_find(m, folder);
	char t[3];

	for (size_t i = 0; f && i < f->n; i++) {
		token(&f->m[i], t);
		if (t[0] == letter)
			return f->m[i].flags;
	}
	return NULL;
}

/* count_of: how many messages of FOLDER have LETTER's body (duplicates). */
int count_of(struct fake_model *m, const char *folder, char letter)
{
	struct fake_folder *f = fake_folder_find(m, folder);
	char t[3];
	int n = 0;

	for (size_t i = 0; f && i < f->n; i++) {
		token(&f->m[i], t);
		n += t[0] == letter;
	}
	return n;
}

void flags_is(struct fake_model *m, char letter, const char *want)
{
	const char *got = flags_of(m, "INBOX", letter);

	ck_assert_msg(got != NULL, "message %c missing on the target", letter);
	ck_assert_msg(strcmp(got, want) == 0, "message %c: flags \"%s\", want \"%s\"", letter, got,
		      want);
}

/* delta_pass: one run (crashing first at the N-th delta acknowledgement when N > 0). */
void delta_pass(struct env *e, long crash, struct copy_result *r)
{
	if (crash > 0) {
		e->crash_delta = crash;
		env_listen(e, NULL, 0, 0);
		run_crash(e, 2, 0, 0);
		env_stop(e);
		e->crash_delta = 0;
	}
	env_start(e, NULL, 0, 0);
	int rc = run(e, 2, r);

	env_stop(e);
	ck_assert_msg(rc == COPY_OK, "delta pass: rc=%d: %s", rc, r->reason);
	ck_assert_int_eq(r->verified, r->folders);
}

void delta_env(struct env *e, const char *dir, const char *src)
{
	memset(e, 0, sizeof(*e));
	e->timeout_ms = 5000;
	snprintf(e->db, sizeof(e->db), "%s/delta.db", dir);
	unlink(e->db);
	model_parse(&e->src, src);
	model_parse(&e->dst, "INBOX=");
	struct copy_result r;

	delta_pass(e, 0, &r);
	ck_assert_int_eq(r.copied, e->src.f[0].n);
}

void delta_done(struct env *e)
{
	fake_model_free(&e->src);
	fake_model_free(&e->dst);
	unlink(e->db);
}
