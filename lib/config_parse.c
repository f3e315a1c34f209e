/* config_parse: fedmig.conf text to a checked struct config, in four passes
 * (lines, scopes, keys, values) that collect every error before failing. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_impl.h"
#include "xalloc.h"

#define MAX_EXPAND_DEPTH 20
/* A value is a path, a list of domains or a few words: 64 KiB is far
 * beyond any, and stops $a$a$a... nested a few times from growing
 * (doubling per level) into megabytes per key and gigabytes in all. */
#define MAX_VALUE_SIZE 65536

struct errbuf {
	char *s;
	size_t len;
};

static void err_add(struct errbuf *e, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void err_add(struct errbuf *e, const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char *l = line > 0 ? xasprintf("%s:%d: %s\n", file, line, msg)
			   : xasprintf("%s: %s\n", file, msg);
	size_t ll = strlen(l);

	e->s = xrealloc(e->s, e->len + ll + 1);
	memcpy(e->s + e->len, l, ll + 1);
	e->len += ll;
	free(l);
}

static int is_name_char(int c)
{
	return isalnum(c) || c == '_';
}

/* expand: VALUE with $name, ${name}, $(name) replaced; NULL + *why on error. */
static char *expand(struct config *cfg, const char *value, int depth, char *why, size_t whylen)
{
	if (depth > MAX_EXPAND_DEPTH) {
		snprintf(why, whylen, "parameter expansion loops (more than %d levels)",
			 MAX_EXPAND_DEPTH);
		return NULL;
	}
	size_t cap = strlen(value) + 1, len = 0;
	char *out = xmalloc(cap);

	for (const char *p = value; *p;) {
		const char *piece = p;
		size_t plen = 1;
		char *sub = NULL;

		if (*p == '$') {
			char name[MAX_NAME];
			size_t nl = 0;
			const char *q = p + 1;
			char close = 0;

			if (*q == '{')
				close = '}';
			else if (*q == '(')
				close = ')';
			if (close)
				q++;
			while (is_name_char((unsigned char)*q) && nl < sizeof(name) - 1)
				name[nl++] = *q++;
			name[nl] = '\0';
			if (is_name_char((unsigned char)*q)) {
				/* Cut, it would name another parameter. */
				snprintf(why, whylen, "parameter name too long near \"%.20s\"", p);
				free(out);
				return NULL;
			}
			if (nl == 0 || (close && *q != close)) {
				snprintf(why, whylen, "bad $ expansion near \"%.20s\"", p);
				free(out);
				return NULL;
			}
			if (close)
				q++;
			struct entry *e = conf_find(cfg, name);

			if (e == NULL) {
				snprintf(why, whylen, "undefined parameter $%s", name);
				free(out);
				return NULL;
			}
			sub = expand(cfg, e->raw, depth + 1, why, whylen);
			if (sub == NULL) {
				free(out);
				return NULL;
			}
			piece = sub;
			plen = strlen(sub);
			p = q;
		} else {
			p++;
		}
		if (len + plen > MAX_VALUE_SIZE) {
			snprintf(why, whylen, "value longer than %d bytes after $name expansion",
				 MAX_VALUE_SIZE);
			free(sub);
			free(out);
			return NULL;
		}
		if (len + plen + 1 > cap) {
			cap = (len + plen + 1) * 2;
			out = xrealloc(out, cap);
		}
		memcpy(out + len, piece, plen);
		len += plen;
		free(sub);
	}
	out[len] = '\0';
	return out;
}

static int in_choices(const char *choices, const char *v)
{
	size_t n;
	char **w = conf_split_words(choices, &n);
	int ok = 0;

	for (size_t i = 0; i < n; i++)
		if (strcmp(w[i], v) == 0)
			ok = 1;
	conf_free_words(w, n);
	return ok;
}

/* check_value: type and range of E->value; message in WHY on error. */
static int check_value(struct entry *e, char *why, size_t whylen)
{
	const struct conf_key *k = e->key;
	const char *v = e->value;
	const char *reason;
	char *end;

	switch (k->type) {
	case CONF_STR:
		return 0;
	case CONF_LIST:
		e->words = conf_split_words(v, &e->nwords);
		return 0;
	case CONF_BOOL: {
		int b;

		if (config_parse_bool(v, &b) < 0) {
			snprintf(why, whylen, "%s: expected yes or no, not \"%s\"", e->name, v);
			return -1;
		}
		e->num = b;
		return 0;
	}
	case CONF_ENUM:
		if (!in_choices(k->choices, v)) {
			snprintf(why, whylen, "%s: \"%s\" is not one of: %s", e->name, v, k->choices);
			return -1;
		}
		return 0;
	case CONF_MODE:
		errno = 0;
		e->num = strtoll(v, &end, 8);
		if (*v == '\0' || *end != '\0' || errno || e->num < 0 || e->num > 07777) {
			snprintf(why, whylen, "%s: expected an octal mode, not \"%s\"", e->name, v);
			return -1;
		}
		break;
	case CONF_INT:
		errno = 0;
		e->num = strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0' || errno) {
			snprintf(why, whylen, "%s: expected a whole number, not \"%s\"", e->name, v);
			return -1;
		}
		break;
	case CONF_TIME:
		if (config_parse_time_ms(v, &e->num, &reason) < 0) {
			snprintf(why, whylen, "%s: \"%s\": %s", e->name, v, reason);
			return -1;
		}
		break;
	}
	if ((k->min || k->max) && (e->num < k->min || e->num > k->max)) {
		if (k->type == CONF_TIME)
			snprintf(why, whylen, "%s: \"%s\" out of range (%lldms to %lldms)", e->name,
				 v, k->min, k->max);
		else
			snprintf(why, whylen, "%s: \"%s\" out of range (%lld to %lld)", e->name, v,
				 k->min, k->max);
		return -1;
	}
	return 0;
}

static void trim_right(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

/* Scoped keys: NAME_suffix where NAME is in LIST (systems or scenarios). */
static const struct conf_key *scoped_key(const char *name, char **names, size_t nnames,
					 enum conf_scope scope)
{
	for (size_t i = 0; i < nnames; i++) {
		size_t l = strlen(names[i]);

		if (strncmp(name, names[i], l) != 0 || name[l] != '_')
			continue;
		for (const struct conf_key *k = config_keys(); k->name; k++)
			if (k->scope == scope && strcmp(k->name, name + l + 1) == 0)
				return k;
	}
	return NULL;
}

/* valid_scope_name: letters and digits, at most 63 bytes: the store keeps
 * system and scenario names in 64-byte fields (STORE_SYSTEM_MAX,
 * REQ_SCENARIO_MAX), where a longer one would read back cut. */
static int valid_scope_name(const char *s)
{
	if (!*s || !isalpha((unsigned char)*s) || strlen(s) > 63)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s))
			return 0;
	return 1;
}

static void add_scope_defaults(struct config *cfg, char **names, size_t n, enum conf_scope scope)
{
	for (size_t i = 0; i < n; i++)
		for (const struct conf_key *k = config_keys(); k->name; k++) {
			if (k->scope != scope)
				continue;
			char *full = xasprintf("%s_%s", names[i], k->name);

			if (conf_find(cfg, full) == NULL)
				conf_add(cfg, full, k->def, 0)->key = k;
			free(full);
		}
}

/* reject_todo: a key nothing reads yet must not look like it works (pim =
 * yes copying no calendars); its default is harmless, a setting is not. */
static void reject_todo(const struct config *cfg, struct errbuf *err, const char *filename)
{
	for (size_t i = 0; i < cfg->n; i++) {
		const struct entry *e = &cfg->v[i];

		if (e->key && e->key->todo && e->line != 0)
			err_add(err, filename, e->line,
				"%s: not implemented yet in this version; remove the setting",
				e->name);
	}
}

/* The state of one config_parse() run: the helpers below add to one error
 * list so that the admin sees every problem in the file at once. */
struct parse {
	struct config *cfg;
	const char *filename;
	struct errbuf err;
	char **sys, **scn; /* the declared system and scenario names */
	size_t nsys, nscn;
};

static int valid_param_name(const char *name)
{
	int ok = *name != '\0';

	for (const char *c = name; *c; c++)
		if (!is_name_char((unsigned char)*c))
			ok = 0;
	return ok;
}

/* parse_assignment: "name = value" at S; the new entry, or NULL so that a
 * continuation line after a bad one is not taken for the wrong parameter. */
static struct entry *parse_assignment(struct parse *ps, const char *s, int lineno)
{
	const char *eq = strchr(s, '=');
	struct entry *cur;

	if (eq == NULL) {
		err_add(&ps->err, ps->filename, lineno, "missing '=' after parameter name");
		return NULL;
	}
	char *name = xstrndup(s, (size_t)(eq - s));

	trim_right(name);
	const char *val = eq + 1;

	while (isspace((unsigned char)*val))
		val++;
	if (!valid_param_name(name)) {
		err_add(&ps->err, ps->filename, lineno, "bad parameter name \"%s\"", name);
		cur = NULL;
	} else if ((cur = conf_find(ps->cfg, name)) != NULL) {
		err_add(&ps->err, ps->filename, lineno, "%s is already set at line %d", name,
			cur->line);
		cur = NULL;
	} else {
		cur = conf_add(ps->cfg, name, val, lineno);
	}
	free(name);
	return cur;
}

/* parse_line: one physical LINE; CUR is the parameter a continuation line
 * extends. Returns the parameter the next line may continue. */
static struct entry *parse_line(struct parse *ps, char *line, size_t len, int lineno,
				struct entry *cur)
{
	if (memchr(line, '\0', len) != NULL || strlen(line) != len) {
		err_add(&ps->err, ps->filename, lineno, "NUL byte in line");
		return NULL;
	}
	trim_right(line);
	const char *s = line;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == '#')
		return cur;
	if (s == line)
		return parse_assignment(ps, s, lineno);
	if (cur == NULL) {
		err_add(&ps->err, ps->filename, lineno,
			"continuation line without a parameter before it");
	} else {
		char *joined = xasprintf("%s%s%s", cur->raw, *cur->raw ? " " : "", s);

		free(cur->raw);
		cur->raw = joined;
	}
	return cur;
}

/* Pass 1: logical lines "name = value"; continuation lines start with space. */
static void parse_lines(struct parse *ps, const char *text)
{
	const char *p = text;
	int lineno = 0;
	struct entry *cur = NULL;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char *line = xstrndup(p, len);

		lineno++;
		p = eol ? eol + 1 : p + len;
		cur = parse_line(ps, line, len, lineno, cur);
		free(line);
	}
}

static void add_global_defaults(struct config *cfg)
{
	for (const struct conf_key *k = config_keys(); k->name; k++)
		if (k->scope == CONF_GLOBAL) {
			struct entry *e = conf_find(cfg, k->name);

			if (e == NULL)
				e = conf_add(cfg, k->name, k->def, 0);
			e->key = k;
		}
}

/* scope_names: the words of KEY (systems or scenarios), each checked. */
static char **scope_names(struct parse *ps, const char *key, size_t *n_r)
{
	struct entry *e = conf_find(ps->cfg, key);
	char why[600];
	char *v = expand(ps->cfg, e->raw, 0, why, sizeof(why));
	char **w;

	*n_r = 0;
	if (v == NULL) {
		err_add(&ps->err, ps->filename, e->line, "%s: %s", e->name, why);
		return NULL;
	}
	w = conf_split_words(v, n_r);
	free(v);
	for (size_t j = 0; j < *n_r; j++) {
		if (!valid_scope_name(w[j]))
			err_add(&ps->err, ps->filename, e->line,
				"%s: \"%s\" is not a valid name (letters and digits)", e->name,
				w[j]);
		for (size_t k = 0; k < j; k++)
			if (strcmp(w[k], w[j]) == 0)
				err_add(&ps->err, ps->filename, e->line, "%s: \"%s\" named twice",
					e->name, w[j]);
	}
	return w;
}

/* Pass 2: defaults of global keys, then the declared systems and scenarios. */
static void declare_scopes(struct parse *ps)
{
	add_global_defaults(ps->cfg);
	ps->sys = scope_names(ps, "systems", &ps->nsys);
	ps->scn = scope_names(ps, "scenarios", &ps->nscn);
	for (size_t i = 0; i < ps->nsys; i++)
		for (size_t j = 0; j < ps->nscn; j++)
			if (strcmp(ps->sys[i], ps->scn[j]) == 0)
				err_add(&ps->err, ps->filename, 0,
					"\"%s\" is both a system and a scenario name", ps->sys[i]);
}

/* Pass 3: every parameter in the file must be known. */
static void resolve_keys(struct parse *ps)
{
	struct config *cfg = ps->cfg;

	for (size_t i = 0; i < cfg->n; i++) {
		struct entry *e = &cfg->v[i];

		if (e->key)
			continue;
		e->key = scoped_key(e->name, ps->sys, ps->nsys, CONF_SYSTEM);
		if (e->key == NULL)
			e->key = scoped_key(e->name, ps->scn, ps->nscn, CONF_SCENARIO);
		if (e->key == NULL)
			err_add(&ps->err, ps->filename, e->line, "unknown parameter %s", e->name);
	}
	reject_todo(cfg, &ps->err, ps->filename);
	add_scope_defaults(cfg, ps->sys, ps->nsys, CONF_SYSTEM);
	add_scope_defaults(cfg, ps->scn, ps->nscn, CONF_SCENARIO);
}

/* Pass 4: expand and check every value. */
static void check_values(struct parse *ps)
{
	struct config *cfg = ps->cfg;
	char why[600];

	for (size_t i = 0; i < cfg->n; i++) {
		struct entry *e = &cfg->v[i];

		if (e->key == NULL)
			continue;
		e->value = expand(cfg, e->raw, 0, why, sizeof(why));
		if (e->value == NULL) {
			err_add(&ps->err, ps->filename, e->line, "%s: %s", e->name, why);
			continue;
		}
		if (check_value(e, why, sizeof(why)) < 0)
			err_add(&ps->err, ps->filename, e->line, "%s", why);
	}
	for (size_t i = 0; i < ps->nsys; i++) {
		const char *d = config_sys_str(cfg, ps->sys[i], "domain");

		if (d && *d == '\0')
			err_add(&ps->err, ps->filename, 0, "system %s has no %s_domain", ps->sys[i],
				ps->sys[i]);
	}
}

struct config *config_parse(const char *text, const char *filename, char **err_r)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	struct parse ps = {.cfg = cfg, .filename = filename};

	cfg->refs = 1;
	cfg->path = xstrdup(filename);
	parse_lines(&ps, text);
	declare_scopes(&ps);
	resolve_keys(&ps);
	check_values(&ps);
	conf_free_words(ps.sys, ps.nsys);
	conf_free_words(ps.scn, ps.nscn);

	/* default_scenario is looked up in a list that only exists when
	 * every value above was valid. */
	if (ps.err.s == NULL) {
		const char *ds = config_str(cfg, "default_scenario");

		if (config_has_scenario(cfg, ds))
			return cfg;
		err_add(&ps.err, filename, conf_find(cfg, "default_scenario")->line,
			"default_scenario: \"%s\" is not in scenarios", ds);
	}
	config_free(&cfg);
	*err_r = ps.err.s;
	return NULL;
}