#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_imap.h"
#include "fake_imap_int.h"

/* ------------------------------------------------------------ model */

static void *xzalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (p == NULL)
		abort();
	return p;
}

static char *dupn(const char *s, size_t n)
{
	char *d = xzalloc(n + 1);

	memcpy(d, s, n);
	return d;
}

struct fake_folder *fake_folder_find(struct fake_model *m, const char *name)
{
	for (size_t i = 0; i < m->nf; i++)
		if (strcmp(m->f[i].name, name) == 0)
			return &m->f[i];
	return NULL;
}

struct fake_folder *fake_folder_add(struct fake_model *m, const char *name, unsigned uidvalidity)
{
	struct fake_folder *f = realloc(m->f, (m->nf + 1) * sizeof(*m->f));

	if (f == NULL)
		abort();
	m->f = f;
	f = &m->f[m->nf++];
	memset(f, 0, sizeof(*f));
	f->name = dupn(name, strlen(name));
	f->uidvalidity = uidvalidity;
	f->uidnext = 1;
	return f;
}

struct fake_msg *fake_msg_add(struct fake_folder *f, const char *body, size_t len,
			      const char *flags, const char *date)
{
	struct fake_msg *m = realloc(f->m, (f->n + 1) * sizeof(*f->m));

	if (m == NULL)
		abort();
	f->m = m;
	m = &f->m[f->n++];
	m->uid = f->uidnext++;
	m->modseq = ++f->modseq;
	m->body = dupn(body, len);
	m->len = len;
	m->flags = dupn(flags, strlen(flags));
	snprintf(m->date, sizeof(m->date), "%s", date);
	return m;
}

static void msg_free(struct fake_msg *m)
{
	free(m->body);
	free(m->flags);
}

void fake_model_free(struct fake_model *m)
{
	for (size_t i = 0; i < m->nf; i++) {
		for (size_t k = 0; k < m->f[i].n; k++)
			msg_free(&m->f[i].m[k]);
		free(m->f[i].m);
		free(m->f[i].gone);
		free(m->f[i].name);
	}
	free(m->f);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------ connection */

static void send_all(struct conn *c, const char *d, size_t n)
{
	for (size_t w = 0; w < n;) {
		ssize_t k = send(c->fd, d + w, n - w, MSG_NOSIGNAL);

		if (k <= 0)
			return;
		w += (size_t)k;
	}
}

/* say_raw: N bytes to the client, or to the held output (see fetch_one). */
void say_raw(struct conn *c, const char *d, size_t n)
{
	if (!c->holding) {
		send_all(c, d, n);
		return;
	}
	char *h = realloc(c->held, c->nheld + n);

	if (h == NULL)
		abort();
	c->held = h;
	memcpy(h + c->nheld, d, n);
	c->nheld += n;
}

/* release: the held output, and D[0..N) behind it in the same write. */
static void release(struct conn *c, const char *d, size_t n)
{
	if (n > 0)
		say_raw(c, d, n);
	c->holding = 0;
	/* Only now: the client must not see the stop before it has sent the
	 * next command. */
	*c->s->fl.stop = 1;
	send_all(c, c->held, c->nheld);
	free(c->held);
	c->held = NULL;
	c->nheld = 0;
}

void say(struct conn *c, const char *fmt, ...)
{
	char out[1024];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(out, sizeof(out), fmt, ap);

	va_end(ap);
	if (n < 0)
		return;
	say_raw(c, out, (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1);
}

/* fill: more input; -1 on EOF, error or stop. */
static int fill(struct conn *c)
{
	struct pollfd p[2] = {{c->fd, POLLIN, 0}, {c->s->wake[0], POLLIN, 0}};

	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == sizeof(c->buf))
		return -1;
	while (poll(p, 2, -1) < 0)
		if (errno != EINTR)
			return -1;
	if (p[1].revents)
		return -1;
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);

	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	return 0;
}

/* get_line: the next line without CRLF into c->line; -1 at the end. */
static int get_line(struct conn *c)
{
	for (;;) {
		char *nl = memchr(c->buf + c->off, '\n', c->len - c->off);

		if (nl) {
			size_t n = (size_t)(nl - (c->buf + c->off));

			if (n > 0 && nl[-1] == '\r')
				n--;
			if (n >= sizeof(c->line))
				return -1;
			memcpy(c->line, c->buf + c->off, n);
			c->line[n] = '\0';
			c->off = (size_t)(nl - c->buf) + 1;
			return 0;
		}
		struct pollfd p = {c->fd, POLLIN, 0};

		/* Held output goes with the next command's answer, if one comes. */
		if (c->holding && poll(&p, 1, 200) <= 0)
			release(c, "", 0);
		if (fill(c) < 0)
			return -1;
	}
}

/* get_bytes: N bytes into OUT; -1 at the end or when the drop fault fires. */
static int get_bytes(struct conn *c, char *out, size_t n)
{
	long drop = c->s->fl.drop_after_bytes;

	for (size_t got = 0; got < n;) {
		if (c->off == c->len && fill(c) < 0)
			return -1;
		size_t k = c->len - c->off;

		if (k > n - got)
			k = n - got;
		if (drop > 0 && c->lit_bytes + (long)k > drop)
			k = (size_t)(drop - c->lit_bytes);
		if (k == 0)
			return -1;
		memcpy(out + got, c->buf + c->off, k);
		c->off += k;
		got += k;
		c->lit_bytes += (long)k;
	}
	return 0;
}

/* ------------------------------------------------------------ parsing */

/* astring: a quoted string or an atom at *P into OUT (no literals here). */
int astring(const char **p, char *out, size_t size)
{
	const char *s = *p;
	size_t n = 0;

	if (*s == '"') {
		for (s++; *s && *s != '"'; s++) {
			if (*s == '\\' && s[1])
				s++;
			if (n + 1 >= size)
				return -1;
			out[n++] = *s;
		}
		if (*s != '"')
			return -1;
		s++;
	} else {
		while (*s && *s != ' ' && *s != ')' && n + 1 < size)
			out[n++] = *s++;
		if (n == 0)
			return -1;
	}
	out[n] = '\0';
	*p = s;
	return 0;
}

/* num: a number or "*" (MAX) at *P. */
static int num(const char **p, unsigned max, unsigned long *r)
{
	char *e;

	if (**p == '*') {
		(*p)++;
		*r = max;
		return 0;
	}
	*r = strtoul(*p, &e, 10);
	if (e == *p)
		return -1;
	*p = e;
	return 0;
}

/* in_set: UID in the set "a:b,c,d:*" (MAX stands for "*", as in RFC 3501). */
int in_set(const char *set, unsigned uid, unsigned max)
{
	const char *p = set;

	for (;;) {
		unsigned long a, b;

		if (num(&p, max, &a) < 0)
			return 0;
		b = a;
		if (*p == ':' && (p++, num(&p, max, &b) < 0))
			return 0;
		if ((uid >= a && uid <= b) || (uid >= b && uid <= a))
			return 1;
		if (*p != ',')
			return 0;
		p++;
	}
}

/* ------------------------------------------------------------ commands */

static const char *caps(const struct fake_imap *s)
{
	return s->fl.no_uidplus ? "IMAP4rev1 LITERAL+ MULTIAPPEND AUTH=PLAIN SASL-IR"
				: "IMAP4rev1 LITERAL+ UIDPLUS MULTIAPPEND AUTH=PLAIN SASL-IR";
}

static void cmd_list(struct conn *c, const char *tag, const char *args, int lsub)
{
	const char *verb = lsub ? "LSUB" : "LIST";

	if (strncmp(args, "\"\" \"\"", 5) == 0) {
		say(c, "* LIST (\\Noselect) \"/\" \"\"\r\n");
	} else {
		for (size_t i = 0; i < c->s->m->nf; i++) {
			const struct fake_folder *f = &c->s->m->f[i];

			const char *hide = c->s->fl.list_hides;

			if (!lsub && hide && strcmp(hide, f->name) == 0)
				continue;
			if (!lsub || f->subscribed)
				say(c, "* %s () \"/\" \"%s\"\r\n", verb, f->name);
		}
	}
	say(c, "%s OK %s done\r\n", tag, verb);
}

static void cmd_create(struct conn *c, const char *tag, const char *args, int subscribe)
{
	char name[256];
	struct fake_model *m = c->s->m;

	if (astring(&args, name, sizeof(name)) < 0) {
		say(c, "%s BAD name\r\n", tag);
		return;
	}
	struct fake_folder *f = fake_folder_find(m, name);

	if (subscribe) {
		if (f)
			f->subscribed = 1;
		say(c, f ? "%s OK subscribed\r\n" : "%s NO no such folder\r\n", tag);
		return;
	}
	if (f) {
		say(c, "%s NO [ALREADYEXISTS] Mailbox already exists\r\n", tag);
		return;
	}
	if (m->next_uidvalidity == 0)
		m->next_uidvalidity = 1000;
	fake_folder_add(m, name, m->next_uidvalidity++);
	say(c, "%s OK created\r\n", tag);
}

static void cmd_select(struct conn *c, const char *tag, const char *args, int examine)
{
	char name[256];
	struct fake_folder *f;

	if (c->sel && c->qresync)
		say(c, "* OK [CLOSED] previous mailbox closed\r\n");
	c->sel = NULL;
	if (astring(&args, name, sizeof(name)) < 0 || (f = fake_folder_find(c->s->m, name)) == NULL) {
		say(c, "%s NO no such folder\r\n", tag);
		return;
	}
	say(c, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* %zu EXISTS\r\n"
	       "* 0 RECENT\r\n* OK [UIDVALIDITY %u] UIDs valid\r\n* OK [UIDNEXT %u] next\r\n",
	    f->n, f->uidvalidity, f->uidnext);
	if (!examine)
		say(c, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] "
		       "flags\r\n");
	if (cs_select(c, f, args) < 0) {
		say(c, "%s BAD select parameters\r\n", tag);
		return;
	}
	c->sel = f;
	say(c, "%s OK [%s] selected\r\n", tag, examine ? "READ-ONLY" : "READ-WRITE");
}

static void cmd_status(struct conn *c, const char *tag, const char *args)
{
	char name[256];
	struct fake_folder *f;

	if (astring(&args, name, sizeof(name)) < 0 || (f = fake_folder_find(c->s->m, name)) == NULL) {
		say(c, "%s NO no such folder\r\n", tag);
		return;
	}
	if (strcasestr(args, "HIGHESTMODSEQ") && (c->s->m->condstore || c->s->m->qresync))
		say(c, "* STATUS \"%s\" (UIDVALIDITY %u HIGHESTMODSEQ %llu)\r\n", f->name,
		    f->uidvalidity, f->nomodseq ? 0ULL : f->modseq);
	else
		say(c, "* STATUS \"%s\" (MESSAGES %zu UIDNEXT %u UIDVALIDITY %u)\r\n", f->name, f->n,
		    f->uidnext, f->uidvalidity);
	say(c, "%s OK status\r\n", tag);
}

/*
 * fetch_one: one FETCH response for M (seq SEQ) with the items ITEMS
 * asks for, written at once: a client reading it in pieces is another
 * test's business.
 */
static void fetch_one(struct conn *c, const struct fake_msg *m, size_t seq, const char *items)
{
	char head[512];
	int n = snprintf(head, sizeof(head), "* %zu FETCH (UID %u", seq, m->uid);

	if (strcasestr(items, "FLAGS"))
		n += snprintf(head + n, sizeof(head) - (size_t)n, " FLAGS (%s)", m->flags);
	if (strcasestr(items, "INTERNALDATE"))
		n += snprintf(head + n, sizeof(head) - (size_t)n, " INTERNALDATE \"%s\"", m->date);
	if (strcasestr(items, "RFC822.SIZE"))
		n += snprintf(head + n, sizeof(head) - (size_t)n, " RFC822.SIZE %zu", m->len);
	if (strcasestr(items, "MODSEQ") || strcasestr(items, "CHANGEDSINCE"))
		n += snprintf(head + n, sizeof(head) - (size_t)n, " MODSEQ (%llu)", m->modseq);
	if (!strcasestr(items, "BODY.PEEK[]") && !strcasestr(items, "BODY[]")) {
		say(c, "%s)\r\n", head);
		return;
	}
	const struct fake_faults *fl = &c->s->fl;
	char *out = xzalloc((size_t)n + m->len + 64);
	size_t k = (size_t)sprintf(out, "%s BODY[] {%zu}\r\n", head, m->len);

	memcpy(out + k, m->body, m->len);
	memcpy(out + k + m->len, ")\r\n", 3);
	size_t total = k + m->len + 3;

	if (c->holding) {
		/* The held responses, this one's head and half its body in one
		 * write; the rest a moment later. */
		release(c, out, k + m->len / 2);
		usleep(50 * 1000);
		send_all(c, out + k + m->len / 2, total - k - m->len / 2);
		free(out);
		return;
	}
	/* A stop the client notices at the end of this very response. */
	if (fl->stop && ++c->s->bodies == fl->stop_at) {
		c->holding = fl->split_after_stop;
		if (!c->holding)
			*fl->stop = 1;
	}
	say_raw(c, out, total);
	free(out);
}

static void cmd_uid(struct conn *c, const char *tag, const char *args)
{
	struct fake_folder *f = c->sel;
	int fetch = strncasecmp(args, "FETCH ", 6) == 0, store = strncasecmp(args, "STORE ", 6) == 0;

	if (f && strncasecmp(args, "EXPUNGE ", 8) == 0 && !c->s->fl.no_uidplus) {
		fake_uid_expunge(f, args + 8);
		say(c, "%s OK EXPUNGE done\r\n", tag);
		return;
	}
	if (f == NULL || (!fetch && !store)) {
		say(c, "%s BAD not selected or not supported\r\n", tag);
		return;
	}
	const char *set = args + 6, *rest = strchr(set, ' ');
	unsigned max = f->n ? f->m[f->n - 1].uid : 0;

	unsigned long long since = 0;

	if (rest == NULL || (fetch && cs_fetch_mods(c, set, rest, &since) < 0)) {
		say(c, "%s BAD arguments\r\n", tag);
		return;
	}
	for (size_t i = 0; i < f->n; i++) {
		struct fake_msg *m = &f->m[i];

		if (!in_set(set, m->uid, max) || (since && m->modseq <= since))
			continue;
		if (fetch) {
			fetch_one(c, m, i + 1, rest);
			continue;
		}
		const char *o = strchr(rest, '('), *e = o ? strrchr(o, ')') : NULL;

		if (e && rest[1] == '+') {
			char *add = dupn(o + 1, (size_t)(e - o - 1));

			fake_msg_flags_add(f, m, add);
			free(add);
		} else if (e) {
			free(m->flags);
			m->flags = dupn(o + 1, (size_t)(e - o - 1));
			cs_touch(f, m);
		}
	}
	say(c, "%s OK %s done\r\n", tag, fetch ? "FETCH" : "STORE");
}

/* ------------------------------------------------------------ APPEND */

struct pending {
	struct fake_msg *m;
	size_t n;
};

/*
 * one_message: "(flags) "date" {n+}" at P, then the literal; 0, or -1
 * when the connection must end (cut, malformed).
 */
static int one_message(struct conn *c, const char *p, struct pending *pd)
{
	struct fake_msg m = {0};
	const char *o = strchr(p, '('), *e = o ? strchr(o, ')') : NULL, *q, *lb;
	char *end;

	if (e == NULL || (q = strchr(e, '"')) == NULL || (lb = strrchr(p, '{')) == NULL)
		return -1;
	const char *qe = strchr(q + 1, '"');
	unsigned long long n = strtoull(lb + 1, &end, 10);

	if (qe == NULL || (size_t)(qe - q - 1) >= sizeof(m.date) || n > (1u << 24))
		return -1;
	if (*end != '+')
		say(c, "+ go ahead\r\n");
	memcpy(m.date, q + 1, (size_t)(qe - q - 1));
	m.flags = dupn(o + 1, (size_t)(e - o - 1));
	m.body = xzalloc((size_t)n + 1);
	m.len = (size_t)n;
	struct fake_msg *a = realloc(pd->m, (pd->n + 1) * sizeof(*pd->m));

	if (a == NULL)
		abort();
	pd->m = a;
	pd->m[pd->n++] = m;
	return get_bytes(c, m.body, (size_t)n);
}

/* append_commit: the command's messages into F, answered with APPENDUID. */
static void append_commit(struct conn *c, const char *tag, struct fake_folder *f,
			  struct pending *pd)
{
	const struct fake_faults *fl = &c->s->fl;
	unsigned first = f->uidnext;

	for (size_t i = 0; i < pd->n; i++)
		fake_msg_add(f, pd->m[i].body, pd->m[i].len, pd->m[i].flags, pd->m[i].date);
	if (fl->no_uidplus || fl->appenduid_missing)
		say(c, "%s OK append completed\r\n", tag);
	else if (pd->n == 1)
		say(c, "%s OK [APPENDUID %u %u] append completed\r\n", tag,
		    f->uidvalidity + fl->appenduid_uv_off, first + fl->appenduid_uid_off);
	else
		say(c, "%s OK [APPENDUID %u %u:%u] append completed\r\n", tag,
		    f->uidvalidity + fl->appenduid_uv_off, first + fl->appenduid_uid_off,
		    f->uidnext - 1 + fl->appenduid_uid_off);
}

/* cmd_append: -1 when the connection ends (the fault, or the client went away). */
static int cmd_append(struct conn *c, const char *tag, const char *args)
{
	char name[256];
	struct pending pd = {0};
	int r = -1;

	if (astring(&args, name, sizeof(name)) < 0)
		return -1;
	c->s->append_cmds++;
	char *first = dupn(args, strlen(args));

	if (one_message(c, first, &pd) < 0)
		goto out;
	for (;;) {
		if (get_line(c) < 0)
			goto out;
		if (c->line[0] == '\0')
			break;
		if (one_message(c, c->line, &pd) < 0)
			goto out;
	}
	struct fake_folder *f = fake_folder_find(c->s->m, name);

	r = 0;
	if (f == NULL)
		say(c, "%s NO [TRYCREATE] no such folder\r\n", tag);
	else if (c->s->fl.append_no_at == c->s->append_cmds)
		say(c, "%s NO [OVERQUOTA] Quota exceeded (fake)\r\n", tag);
	else
		append_commit(c, tag, f, &pd);
out:
	free(first);
	for (size_t i = 0; i < pd.n; i++)
		msg_free(&pd.m[i]);
	free(pd.m);
	return r;
}

/* ------------------------------------------------------------ session */

/* command: one command line in c->line; -1 ends the session. */
static int command(struct conn *c)
{
	char tag[32], verb[32];
	const char *p = c->line, *sp = strchr(p, ' ');

	if (sp == NULL || (size_t)(sp - p) >= sizeof(tag))
		return -1;
	memcpy(tag, p, (size_t)(sp - p));
	tag[sp - p] = '\0';
	p = sp + 1;
	size_t vl = strcspn(p, " ");

	if (vl >= sizeof(verb))
		return -1;
	memcpy(verb, p, vl);
	verb[vl] = '\0';
	p += vl;
	if (*p == ' ')
		p++;
	c->s->m->commands++;
	if (tree_command(c, tag, verb, p))
		return 0;
	if (strcasecmp(verb, "CAPABILITY") == 0)
		say(c, "* CAPABILITY %s%s\r\n%s OK done\r\n", caps(c->s), cs_caps(c->s->m), tag);
	else if (strcasecmp(verb, "LOGIN") == 0 || strcasecmp(verb, "AUTHENTICATE") == 0)
		say(c, "%s OK [CAPABILITY %s%s] logged in\r\n", tag, caps(c->s), cs_caps(c->s->m));
	else if (strcasecmp(verb, "LIST") == 0 || strcasecmp(verb, "LSUB") == 0)
		cmd_list(c, tag, p, strcasecmp(verb, "LSUB") == 0);
	else if (strcasecmp(verb, "CREATE") == 0 || strcasecmp(verb, "SUBSCRIBE") == 0)
		cmd_create(c, tag, p, strcasecmp(verb, "SUBSCRIBE") == 0);
	else if (strcasecmp(verb, "SELECT") == 0 || strcasecmp(verb, "EXAMINE") == 0)
		cmd_select(c, tag, p, strcasecmp(verb, "EXAMINE") == 0);
	else if (strcasecmp(verb, "STATUS") == 0)
		cmd_status(c, tag, p);
	else if (strcasecmp(verb, "UID") == 0)
		cmd_uid(c, tag, p);
	else if (strcasecmp(verb, "APPEND") == 0)
		return cmd_append(c, tag, p);
	else if (strcasecmp(verb, "ENABLE") == 0)
		cs_enable(c, tag);
	else if (strcasecmp(verb, "NOOP") == 0)
		say(c, "%s OK noop\r\n", tag);
	else if (strcasecmp(verb, "LOGOUT") == 0) {
		say(c, "* BYE bye\r\n%s OK logout\r\n", tag);
		return -1;
	} else
		say(c, "%s BAD unknown command\r\n", tag);
	return 0;
}

static void serve(struct fake_imap *s, int fd)
{
	struct conn *c = xzalloc(sizeof(*c));

	c->s = s;
	c->fd = fd;
	say(c, "* OK [CAPABILITY %s%s] fake ready\r\n", caps(s), cs_caps(s->m));
	while (get_line(c) == 0 && command(c) == 0)
		;
	close(fd);
	free(c->held);
	free(c);
}

static void *server_main(void *arg)
{
	struct fake_imap *s = arg;

	for (;;) {
		struct pollfd p[2] = {{s->lfd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		int fd = accept(s->lfd, NULL, NULL);

		int one = 1;

		if (fd < 0)
			continue;
		/* Responses go out in small writes: no Nagle delay between them. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		serve(s, fd);
	}
	return NULL;
}

static int listen_any(struct fake_imap *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);

	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(s->lfd, 8) < 0 || getsockname(s->lfd, (struct sockaddr *)&a, &al) < 0)
		return -1;
	snprintf(s->url, sizeof(s->url), "imap://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
	return 0;
}

struct fake_imap *fake_imap_listen(struct fake_model *m, const struct fake_faults *faults)
{
	struct fake_imap *s = xzalloc(sizeof(*s));

	s->m = m;
	if (faults)
		s->fl = *faults;
	s->wake[0] = s->wake[1] = -1;
	if (listen_any(s) < 0 || pipe2(s->wake, O_CLOEXEC) < 0) {
		if (s->lfd >= 0)
			close(s->lfd);
		if (s->wake[0] >= 0) {
			close(s->wake[0]);
			close(s->wake[1]);
		}
		free(s);
		return NULL;
	}
	return s;
}

int fake_imap_serve(struct fake_imap *s)
{
	if (pthread_create(&s->th, NULL, server_main, s) != 0)
		return -1;
	s->running = 1;
	return 0;
}

struct fake_imap *fake_imap_start(struct fake_model *m, const struct fake_faults *faults)
{
	struct fake_imap *s = fake_imap_listen(m, faults);

	if (s && fake_imap_serve(s) < 0)
		fake_imap_stop(&s);
	return s;
}

const char *fake_imap_url(const struct fake_imap *s)
{
	return s->url;
}

void fake_imap_stop(struct fake_imap **sp)
{
	struct fake_imap *s = *sp;

	if (s == NULL)
		return;
	if (s->running) {
		if (write(s->wake[1], "x", 1) != 1)
			abort();
		pthread_join(s->th, NULL);
	}
	close(s->lfd);
	close(s->wake[0]);
	close(s->wake[1]);
	free(s);
	*sp = NULL;
}
