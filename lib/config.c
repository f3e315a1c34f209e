#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_impl.h"
#include "xalloc.h"

#define STR CONF_STR
#define INT CONF_INT
#define BOOL CONF_BOOL
#define TIME CONF_TIME
#define LIST CONF_LIST
#define ENUM CONF_ENUM
#define MODE CONF_MODE
#define KEY(n, t, d, lo, hi, c, doc) {n, t, d, lo, hi, c, doc, CONF_GLOBAL, 0},
#define SYSKEY(n, t, d, lo, hi, c, doc) {n, t, d, lo, hi, c, doc, CONF_SYSTEM, 0},
#define SCNKEY(n, t, d, lo, hi, c, doc) {n, t, d, lo, hi, c, doc, CONF_SCENARIO, 0},
#define KEY_TODO(n, t, d, lo, hi, c, doc) {n, t, d, lo, hi, c, doc, CONF_GLOBAL, 1},
#define SYSKEY_TODO(n, t, d, lo, hi, c, doc) {n, t, d, lo, hi, c, doc, CONF_SYSTEM, 1},
#define SCNKEY_TODO(n, t, d, lo, hi, c, doc) {n, t, d, lo, hi, c, doc, CONF_SCENARIO, 1},
static const struct conf_key key_table[] = {
#include "config_keys.def"
	{NULL, 0, NULL, 0, 0, NULL, NULL, 0, 0},
};

const struct conf_key *config_keys(void)
{
	return key_table;
}

struct entry *conf_find(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n; i++)
		if (strcmp(cfg->v[i].name, name) == 0)
			return &cfg->v[i];
	return NULL;
}

struct entry *conf_add(struct config *cfg, const char *name, const char *raw, int line)
{
	if (cfg->n == cfg->cap) {
		cfg->cap = cfg->cap ? cfg->cap * 2 : 128;
		cfg->v = xrealloc(cfg->v, cfg->cap * sizeof(*cfg->v));
	}
	struct entry *e = &cfg->v[cfg->n++];

	memset(e, 0, sizeof(*e));
	e->name = xstrdup(name);
	e->raw = xstrdup(raw);
	e->line = line;
	return e;
}

void conf_free_words(char **w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(w[i]);
	free(w);
}

char **conf_split_words(const char *s, size_t *n_r)
{
	char **w = NULL;
	size_t n = 0;

	while (*s) {
		while (*s && (isspace((unsigned char)*s) || *s == ','))
			s++;
		if (!*s)
			break;
		const char *b = s;

		while (*s && !isspace((unsigned char)*s) && *s != ',')
			s++;
		w = xrealloc(w, (n + 1) * sizeof(*w));
		w[n++] = xstrndup(b, (size_t)(s - b));
	}
	*n_r = n;
	return w;
}

int config_parse_bool(const char *s, int *b_r)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*b_r = 1;
	else if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*b_r = 0;
	else
		return -1;
	return 0;
}

int config_parse_time_ms(const char *s, long long *ms_r, const char **why_r)
{
	char *end;
	long long mult;

	errno = 0;
	if (!isdigit((unsigned char)*s)) {
		*why_r = "expected a number with an optional unit (ms s m h d w)";
		return -1;
	}
	long long v = strtoll(s, &end, 10);

	if (errno == ERANGE) {
		*why_r = "number too large";
		return -1;
	}
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0)
		mult = 60 * 1000LL;
	else if (strcmp(end, "h") == 0)
		mult = 3600 * 1000LL;
	else if (strcmp(end, "d") == 0)
		mult = 86400 * 1000LL;
	else if (strcmp(end, "w") == 0)
		mult = 7 * 86400 * 1000LL;
	else {
		*why_r = "unknown time unit (use ms s m h d w)";
		return -1;
	}
	if (v > (long long)1e15 / mult) {
		*why_r = "time too large";
		return -1;
	}
	*ms_r = v * mult;
	return 0;
}


struct config *config_load(const char *path, char **err_r)
{
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		*err_r = xasprintf("open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	size_t cap = 8192, len = 0;
	char *buf = xmalloc(cap);
	size_t got;

	while ((got = fread(buf + len, 1, cap - len - 1, fp)) > 0) {
		len += got;
		if (cap - len < 2) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		if (len > 16 * 1024 * 1024) {
			fclose(fp);
			free(buf);
			*err_r = xasprintf("%s: file too large\n", path);
			return NULL;
		}
	}
	if (ferror(fp)) {
		*err_r = xasprintf("read %s: %s\n", path, strerror(errno));
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	buf[len] = '\0';
	if (strlen(buf) != len) {
		/* Find the line of the NUL for a useful message. */
		int line = 1;

		for (size_t i = 0; i < len && buf[i]; i++)
			line += buf[i] == '\n';
		*err_r = xasprintf("%s:%d: NUL byte in line\n", path, line);
		free(buf);
		return NULL;
	}
	struct config *cfg = config_parse(buf, path, err_r);

	free(buf);
	return cfg;
}

struct config *config_ref(struct config *cfg)
{
	cfg->refs++;
	return cfg;
}

void config_unref(struct config **cfgp)
{
	struct config *cfg = *cfgp;

	if (cfg == NULL)
		return;
	*cfgp = NULL;
	if (--cfg->refs > 0)
		return;
	for (size_t i = 0; i < cfg->n; i++) {
		free(cfg->v[i].name);
		free(cfg->v[i].raw);
		free(cfg->v[i].value);
		conf_free_words(cfg->v[i].words, cfg->v[i].nwords);
	}
	free(cfg->v);
	free(cfg->path);
	free(cfg);
}

void config_free(struct config **cfgp)
{
	config_unref(cfgp);
}

int config_keep(struct config *dst, const struct config *src, const char *name)
{
	struct entry *d = conf_find(dst, name);
	const struct entry *o = conf_find(src, name);

	if (d == NULL || o == NULL || d->key == NULL || d->value == NULL || o->value == NULL) {
		fprintf(stderr, "fedmig: internal error: parameter %s is not declared\n", name);
		abort();
	}
	if (strcmp(d->value, o->value) == 0)
		return 0;
	free(d->raw);
	free(d->value);
	conf_free_words(d->words, d->nwords);
	d->raw = xstrdup(o->raw);
	d->value = xstrdup(o->value);
	d->line = o->line;
	d->words = NULL;
	d->nwords = 0;
	if (o->words)
		d->words = conf_split_words(o->value, &d->nwords);
	d->num = o->num;
	return 1;
}

const char *config_path(const struct config *cfg)
{
	return cfg->path;
}

static const struct entry *must(const struct config *cfg, const char *name, enum conf_type t)
{
	const struct entry *e = conf_find(cfg, name);

	if (e == NULL || e->key == NULL || e->value == NULL) {
		fprintf(stderr, "fedmig: internal error: parameter %s is not declared\n", name);
		abort();
	}
	/* ENUM values are strings; MODE values are numbers (the mode bits). */
	if (e->key->type != t && !(t == CONF_STR && e->key->type == CONF_ENUM) &&
	    !(t == CONF_INT && e->key->type == CONF_MODE)) {
		fprintf(stderr, "fedmig: internal error: parameter %s read with the wrong type\n",
			name);
		abort();
	}
	return e;
}

const char *config_str(const struct config *cfg, const char *name)
{
	return must(cfg, name, CONF_STR)->value;
}

long long config_int(const struct config *cfg, const char *name)
{
	return must(cfg, name, CONF_INT)->num;
}

int config_bool(const struct config *cfg, const char *name)
{
	return (int)must(cfg, name, CONF_BOOL)->num;
}

long long config_time_ms(const struct config *cfg, const char *name)
{
	return must(cfg, name, CONF_TIME)->num;
}

const char *const *config_list(const struct config *cfg, const char *name, size_t *n_r)
{
	const struct entry *e = must(cfg, name, CONF_LIST);

	*n_r = e->nwords;
	return (const char *const *)e->words;
}

static const struct entry *scoped(const struct config *cfg, const char *scope,
				  const char *suffix)
{
	char name[MAX_NAME * 2];

	snprintf(name, sizeof(name), "%s_%s", scope, suffix);
	return conf_find(cfg, name);
}

const char *config_sys_str(const struct config *cfg, const char *sys, const char *suffix)
{
	const struct entry *e = scoped(cfg, sys, suffix);

	return e && e->value ? e->value : NULL;
}

long long config_sys_time_ms(const struct config *cfg, const char *sys, const char *suffix)
{
	const struct entry *e = scoped(cfg, sys, suffix);

	return e ? e->num : 0;
}

int config_scn_bool(const struct config *cfg, const char *scn, const char *suffix)
{
	const struct entry *e = scoped(cfg, scn, suffix);

	return e ? (int)e->num : 0;
}

long long config_scn_time_ms(const struct config *cfg, const char *scn, const char *suffix)
{
	const struct entry *e = scoped(cfg, scn, suffix);

	return e ? e->num : 0;
}

static int in_list(const struct config *cfg, const char *list, const char *name)
{
	size_t n;
	const char *const *w = config_list(cfg, list, &n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(w[i], name) == 0)
			return 1;
	return 0;
}

int config_has_system(const struct config *cfg, const char *name)
{
	return in_list(cfg, "systems", name);
}

int config_has_scenario(const struct config *cfg, const char *name)
{
	return in_list(cfg, "scenarios", name);
}

const char *config_system_by_domain(const struct config *cfg, const char *domain)
{
	size_t n;
	const char *const *w = config_list(cfg, "systems", &n);

	for (size_t i = 0; i < n; i++) {
		const char *d = config_sys_str(cfg, w[i], "domain");

		if (d && strcasecmp(d, domain) == 0)
			return w[i];
	}
	return NULL;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp((*(const struct entry *const *)a)->name,
		      (*(const struct entry *const *)b)->name);
}

void config_print(const struct config *cfg, FILE *fp, int flags)
{
	const struct entry **sorted = xcalloc(cfg->n, sizeof(*sorted));
	size_t n = 0;

	for (size_t i = 0; i < cfg->n; i++) {
		if (cfg->v[i].key == NULL)
			continue;
		if ((flags & CONFIG_PRINT_SET) && cfg->v[i].line == 0)
			continue;
		sorted[n++] = &cfg->v[i];
	}
	/* What the file sets is shown as the admin wrote it, in its order
	 * (cfg->v holds the file's entries first, in order); the full list is
	 * sorted so a key is found. */
	if (!(flags & CONFIG_PRINT_SET))
		qsort(sorted, n, sizeof(*sorted), cmp_entry);
	for (size_t i = 0; i < n; i++) {
		const struct entry *e = sorted[i];
		const char *v = (flags & CONFIG_PRINT_DEFAULTS) ? e->key->def
				: (flags & CONFIG_PRINT_SET)    ? e->raw
								: e->value;

		fprintf(fp, "%s =%s%s\n", e->name, *v ? " " : "", v);
	}
	free(sorted);
}
