/*
 * dirrec - checks of what directory drivers return, and the exec
 * driver's record format (dirrec.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "dirrec.h"
#include "log.h"
#include "xalloc.h"

static int domain_federated(const struct config *cfg, const char *dom)
{
	size_t n;
	const char *const *fed = config_list(cfg, "federated_domains", &n);

	for (size_t i = 0; i < n; i++)
		if (strcasecmp(fed[i], dom) == 0)
			return 1;
	return 0;
}

const char *dirrec_address(const struct config *cfg, const char *sys, const char *in, size_t len,
			   int want_fed, char out[ADDR_MAX])
{
	const char *why = NULL;
	int flags = config_bool(cfg, "fold_local_part") ? ADDR_FOLD_LOCAL : 0;

	if (addr_normalize(in, len, flags, out, &why) < 0)
		return why;
	if (strpbrk(out, " \t") != NULL)
		return "white space in the address";
	if (out[0] == '-' || out[0] == '#')
		return "a leading '-' or '#' (an option or a comment to a program or file)";
	if (want_fed && !domain_federated(cfg, addr_domain(out)))
		return "its domain is not in federated_domains";
	if (!want_fed && strcasecmp(addr_domain(out), config_sys_str(cfg, sys, "domain")) != 0)
		return "its domain is not the system's NAME_domain";
	return NULL;
}

/* text_ok: S may be stored and shown: bounded, UTF-8, no control byte. */
static int text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n <= max && addr_text_ok(s, n);
}

/* fix_addr: *P (may be "" when EMPTY_OK) in canonical form; NULL or why. */
static const char *fix_addr(const struct config *cfg, const char *sys, char **p, int fed,
			    int empty_ok, const char *what, char *buf)
{
	char canon[ADDR_MAX];
	const char *why;

	if (**p == '\0') {
		if (empty_ok)
			return NULL;
		snprintf(buf, DRV_WHY, "no %s", what);
		return buf;
	}
	if ((why = dirrec_address(cfg, sys, *p, strlen(*p), fed, canon)) != NULL) {
		char shown[ADDR_SHOW_MAX];

		snprintf(buf, DRV_WHY, "%s \"%s\": %s", what,
			 addr_show(*p, strlen(*p), shown, sizeof(shown)), why);
		return buf;
	}
	if (strcmp(canon, *p) != 0) {
		free(*p);
		*p = xstrdup(canon);
	}
	return NULL;
}

/* word_in: 1 if the LEN bytes at W are a space-separated word of LIST. */
static int word_in(const char *list, const char *w, size_t len)
{
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, " ");

		if (n == len && memcmp(p, w, len) == 0)
			return 1;
		p += n;
		p += *p == ' ';
	}
	return 0;
}

/* fix_aliases: A->aliases rebuilt from canonical federated aliases. */
static const char *fix_aliases(const struct config *cfg, const char *sys, struct dir_account *a,
			       char *buf)
{
	size_t cap = strlen(a->aliases) + 1, len = 0, count = 0;
	char *out = xmalloc(cap * 2 + ADDR_MAX), canon[ADDR_MAX];
	char shown[ADDR_SHOW_MAX], shown2[ADDR_SHOW_MAX];

	out[0] = '\0';
	for (const char *p = a->aliases; *p;) {
		size_t n = strcspn(p, " ");
		const char *why = n ? dirrec_address(cfg, sys, p, n, 1, canon) : NULL;

		if (n == 0)
			;
		else if (why != NULL)
			log_warn("directory %s: entry %s: alias \"%s\" dropped: %s", sys,
				 addr_show(a->key, strlen(a->key), shown, sizeof(shown)),
				 addr_show(p, n, shown2, sizeof(shown2)), why);
		else if (strcmp(canon, a->access) != 0 && !word_in(out, canon, strlen(canon))) {
			if (++count > DIRREC_ALIASES_MAX) {
				snprintf(buf, DRV_WHY, "more than %d aliases", DIRREC_ALIASES_MAX);
				free(out);
				return buf;
			}
			len += (size_t)sprintf(out + len, "%s%s", len ? " " : "", canon);
		}
		p += n;
		p += *p == ' ';
	}
	free(a->aliases);
	a->aliases = out;
	return NULL;
}

const char *dirrec_account_fix(const struct config *cfg, const char *sys, struct dir_account *a,
			       char *buf)
{
	const char *why;

	if (a->key[0] == '\0' || !text_ok(a->key, DIRREC_KEY_MAX))
		return "an empty key, a key with control bytes or invalid UTF-8, or over 1024 bytes";
	if (!text_ok(a->name, DIRREC_NAME_MAX))
		return "a name with control bytes or invalid UTF-8, or over 512 bytes";
	if (!text_ok(a->group, DIRREC_KEY_MAX))
		return "a group with control bytes or invalid UTF-8, or over 1024 bytes";
	if ((why = fix_addr(cfg, sys, &a->access, 1, 1, "access address", buf)) != NULL ||
	    (why = fix_addr(cfg, sys, &a->physical, 0, 1, "physical address", buf)) != NULL)
		return why;
	if (strlen(a->aliases) > (size_t)DIRREC_ALIASES_MAX * ADDR_MAX)
		return "an alias list over its size limit";
	return fix_aliases(cfg, sys, a, buf);
}

const char *dirrec_contact_fix(const struct config *cfg, const char *sys, struct dir_contact *c,
			       char *buf)
{
	if (!text_ok(c->key, DIRREC_KEY_MAX))
		return "a key with control bytes or invalid UTF-8, or over 1024 bytes";
	if (!text_ok(c->name, DIRREC_NAME_MAX))
		return "a name with control bytes or invalid UTF-8, or over 512 bytes";
	return fix_addr(cfg, sys, &c->address, 1, 0, "address", buf);
}

void dir_account_clear(struct dir_account *a)
{
	free(a->key);
	free(a->access);
	free(a->physical);
	free(a->aliases);
	free(a->name);
	free(a->group);
	memset(a, 0, sizeof(*a));
}

void dir_contact_clear(struct dir_contact *c)
{
	free(c->address);
	free(c->name);
	free(c->key);
	memset(c, 0, sizeof(*c));
}

/* --- dropping bad entries and repeated keys --- */

struct keyref {
	const char *key;
	size_t idx;
};

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* dup_marks: BAD[i] = 1 for every I whose key (KEYOF) an earlier entry
 * has; sorting, so 100,000 entries cost n log n, not n squared. */
static void dup_marks(size_t n, const char *(*keyof)(const void *, size_t), const void *arr,
		      char *bad)
{
	struct keyref *r = xcalloc(n ? n : 1, sizeof(*r));

	for (size_t i = 0; i < n; i++)
		r[i] = (struct keyref){keyof(arr, i) ? keyof(arr, i) : "", i};
	qsort(r, n, sizeof(*r), keyref_cmp);
	for (size_t i = 1; i < n; i++)
		if (!bad[r[i].idx] && strcmp(r[i].key, r[i - 1].key) == 0)
			bad[r[i].idx] = 2;
	free(r);
}

static const char *acc_key(const void *arr, size_t i)
{
	return ((const struct dir_account *)arr)[i].key;
}

static const char *con_key(const void *arr, size_t i)
{
	return ((const struct dir_contact *)arr)[i].key;
}

static void warn_drop(const char *sys, const char *key, const char *why, size_t *nwarn)
{
	char shown[ADDR_SHOW_MAX];

	if (++*nwarn <= DIRREC_WARN_MAX)
		log_warn("directory %s: entry %s skipped: %s", sys,
			 addr_show(key ? key : "", key ? strlen(key) : 0, shown, sizeof(shown)),
			 why);
}

static void warn_total(const char *sys, size_t nwarn)
{
	if (nwarn > DIRREC_WARN_MAX)
		log_warn("directory %s: %zu entries skipped in all (the first %d shown)", sys,
			 nwarn, DIRREC_WARN_MAX);
}

size_t dirrec_clean_listing(const struct config *cfg, const char *sys, struct dir_listing *l)
{
	char *bad = xcalloc(l->nacc + 1, 1), buf[DRV_WHY];
	size_t k = 0, nwarn = 0, gk = 0;
	const char *why;

	for (size_t i = 0; i < l->nacc; i++)
		if ((why = dirrec_account_fix(cfg, sys, &l->acc[i], buf)) != NULL) {
			warn_drop(sys, l->acc[i].key, why, &nwarn);
			bad[i] = 1;
		}
	dup_marks(l->nacc, acc_key, l->acc, bad);
	for (size_t i = 0; i < l->nacc; i++) {
		if (!bad[i]) {
			l->acc[k++] = l->acc[i];
			continue;
		}
		if (bad[i] == 2)
			warn_drop(sys, l->acc[i].key, "its key is listed twice", &nwarn);
		dir_account_clear(&l->acc[i]);
	}
	l->nacc = k;
	for (size_t i = 0; i < l->ngone; i++) {
		if (l->gone[i] && l->gone[i][0] && text_ok(l->gone[i], DIRREC_KEY_MAX))
			l->gone[gk++] = l->gone[i];
		else
			free(l->gone[i]), nwarn++;
	}
	l->ngone = gk;
	warn_total(sys, nwarn);
	free(bad);
	return nwarn;
}

size_t dirrec_clean_contacts(const struct config *cfg, const char *sys, struct dir_contact **c,
			     size_t *n)
{
	char *bad = xcalloc(*n + 1, 1), buf[DRV_WHY];
	size_t k = 0, nwarn = 0;
	struct dir_contact *a = *c;
	const char *why;

	for (size_t i = 0; i < *n; i++)
		if ((why = dirrec_contact_fix(cfg, sys, &a[i], buf)) != NULL) {
			warn_drop(sys, a[i].key, why, &nwarn);
			bad[i] = 1;
		}
	dup_marks(*n, con_key, a, bad);
	for (size_t i = 0; i < *n; i++) {
		if (!bad[i]) {
			a[k++] = a[i];
			continue;
		}
		if (bad[i] == 2)
			warn_drop(sys, a[i].key, "its key is listed twice", &nwarn);
		dir_contact_clear(&a[i]);
	}
	*n = k;
	warn_total(sys, nwarn);
	free(bad);
	return nwarn;
}

/* --- the exec format --- */

#define FIELDS_MAX 6

/* A line's handler: takes the NF fields F (lengths FL), all of them text
 * without control bytes; NULL when kept, else why not. */
typedef const char *line_fn(void *ctx, char *const *f, size_t nf, char *buf);

struct lines {
	const struct config *cfg;
	const char *sys;
	size_t total, bad, nwarn;
};

/* line_fields: the tab-separated fields of LINE (LEN bytes) as strings in
 * F (at most FIELDS_MAX); their count, or 0 with *WHY_R set. */
static size_t line_fields(const char *line, size_t len, char **f, const char **why_r)
{
	size_t nf = 0;

	if (len > DIRREC_LINE_MAX) {
		*why_r = "over 64 KiB";
		return 0;
	}
	for (size_t off = 0; off <= len && nf < FIELDS_MAX + 1; nf++) {
		const char *tab = memchr(line + off, '\t', len - off);
		size_t n = tab ? (size_t)(tab - line) - off : len - off;

		if (nf == FIELDS_MAX || !addr_text_ok(line + off, n)) {
			*why_r = nf == FIELDS_MAX ? "too many fields"
						  : "a NUL, CR or other control byte, or invalid UTF-8";
			for (size_t i = 0; i < nf; i++)
				free(f[i]);
			return 0;
		}
		f[nf] = xstrndup(line + off, n);
		off += n + 1;
		if (tab == NULL)
			return nf + 1;
	}
	return nf;
}

static void line_warn(struct lines *st, size_t lineno, const char *why)
{
	st->bad++;
	if (++st->nwarn <= DIRREC_WARN_MAX)
		log_warn("directory %s: line %zu of the program's output skipped: %s", st->sys,
			 lineno, why);
}

/* parse_lines: every line of BUF to FN with between MIN and MAX fields;
 * DRV_OK once the final "." was seen, else DRV_TEMP or DRV_FAIL (WHY). */
static int parse_lines(struct lines *st, const char *buf, size_t len, size_t min, size_t max,
		       line_fn *fn, void *ctx, char *why)
{
	size_t off = 0, lineno = 0;
	char *f[FIELDS_MAX], rbuf[DRV_WHY];
	int done = 0;

	while (off < len) {
		const char *line = buf + off, *nl = memchr(line, '\n', len - off), *reason = NULL;
		size_t n = nl ? (size_t)(nl - line) : len - off, nf;

		off += n + (nl != NULL);
		lineno++;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (done) {
			snprintf(why, DRV_WHY, "line %zu: output after the final \".\" line", lineno);
			return DRV_FAIL;
		}
		if (n == 1 && line[0] == '.') {
			done = 1;
			continue;
		}
		st->total++;
		if ((nf = line_fields(line, n, f, &reason)) == 0) {
			line_warn(st, lineno, reason);
			continue;
		}
		if (nf < min || nf > max)
			reason = "wrong number of tab-separated fields";
		else
			reason = fn(ctx, f, nf, rbuf);
		if (reason != NULL)
			line_warn(st, lineno, reason);
		for (size_t i = 0; i < nf; i++)
			free(f[i]);
	}
	if (!done) {
		snprintf(why, DRV_WHY, "no final \".\" line after %zu lines: the output was cut short",
			 lineno);
		return DRV_TEMP;
	}
	return DRV_OK;
}

/* too_bad: DRV_FAIL (WHY) when more than 1 % of the lines were bad. */
static int too_bad(struct lines *st, char *why)
{
	if (st->nwarn > DIRREC_WARN_MAX)
		log_warn("directory %s: %zu lines skipped in all (the first %d shown)", st->sys,
			 st->nwarn, DIRREC_WARN_MAX);
	if (st->bad * 100 <= st->total)
		return DRV_OK;
	snprintf(why, DRV_WHY, "%zu of %zu lines of the program's output are bad (over 1 %%)",
		 st->bad, st->total);
	return DRV_FAIL;
}

static const char *list_line(void *ctx, char *const *f, size_t nf, char *buf)
{
	struct lines *st = ((struct lines **)ctx)[0];
	struct dir_listing *l = ((struct dir_listing **)ctx)[1];
	struct dir_account a = {xstrdup(f[0]), xstrdup(f[1]), xstrdup(f[2]), xstrdup(f[3]),
				xstrdup(f[4]), xstrdup(nf > 5 ? f[5] : "")};
	const char *why = dirrec_account_fix(st->cfg, st->sys, &a, buf);

	if (why != NULL) {
		dir_account_clear(&a);
		return why;
	}
	if (l->nacc % 1024 == 0)
		l->acc = xrealloc(l->acc, (l->nacc + 1024) * sizeof(*l->acc));
	l->acc[l->nacc++] = a;
	return NULL;
}

int dirrec_parse_list(const struct config *cfg, const char *sys, const char *buf, size_t len,
		      struct dir_listing *out, char *why)
{
	struct lines st = {cfg, sys, 0, 0, 0};
	void *ctx[2] = {&st, out};
	int rc;

	memset(out, 0, sizeof(*out));
	rc = parse_lines(&st, buf, len, 5, 6, list_line, ctx, why);
	if (rc == DRV_OK) {
		st.bad += dirrec_clean_listing(cfg, sys, out);
		rc = too_bad(&st, why);
	}
	if (rc != DRV_OK)
		dir_listing_free(out);
	return rc;
}

struct contacts {
	struct lines *st;
	struct dir_contact *c;
	size_t n;
};

static const char *contact_line(void *ctx, char *const *f, size_t nf, char *buf)
{
	struct contacts *cs = ctx;
	struct dir_contact c = {xstrdup(f[1]), xstrdup(f[2]), xstrdup(f[0])};
	const char *why = dirrec_contact_fix(cs->st->cfg, cs->st->sys, &c, buf);

	if (why != NULL) {
		dir_contact_clear(&c);
		return why;
	}
	if (cs->n % 1024 == 0)
		cs->c = xrealloc(cs->c, (cs->n + 1024) * sizeof(*cs->c));
	cs->c[cs->n++] = c;
	return NULL;
}

int dirrec_parse_contacts(const struct config *cfg, const char *sys, const char *buf, size_t len,
			  struct dir_contact **c_r, size_t *n_r, char *why)
{
	struct lines st = {cfg, sys, 0, 0, 0};
	struct contacts cs = {&st, NULL, 0};
	int rc = parse_lines(&st, buf, len, 3, 3, contact_line, &cs, why);

	if (rc == DRV_OK) {
		st.bad += dirrec_clean_contacts(cfg, sys, &cs.c, &cs.n);
		rc = too_bad(&st, why);
	}
	if (rc != DRV_OK) {
		dir_contacts_free(cs.c, cs.n);
		cs.c = NULL;
		cs.n = 0;
	}
	*c_r = cs.c;
	*n_r = cs.n;
	return rc;
}
