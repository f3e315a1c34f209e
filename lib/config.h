/*
 * config - fedmig.conf, in Postfix main.cf syntax.
 *
 * "name = value" lines; lines starting with '#' are comments; a line that
 * starts with white space continues the previous one; $name, ${name} and
 * $(name) expand to another parameter's value. Every key is declared in
 * config_keys.def with a type, a default and bounds; per-system keys are
 * NAME_suffix for NAME in $systems, per-scenario keys NAME_suffix for
 * NAME in $scenarios.
 *
 * Contract: config_load() returns NULL and sets *err_r to every problem as
 * "FILE:LINE: message" lines (caller frees) on an unknown key, a bad
 * value, a value out of range, a duplicate key, an undefined $name, a
 * value over 64 KiB once $name is expanded, or a key this version does
 * not implement yet (conf_key.todo).
 * Getters take a declared key name; asking for an undeclared one is a
 * programming error and aborts. Returned strings belong to the config.
 */
#ifndef FEDMIG_CONFIG_H
#define FEDMIG_CONFIG_H

#include <stdio.h>
#include <stddef.h>

#include "paths.h" /* FEDMIG_CONF_DEFAULT */

enum conf_type { CONF_STR, CONF_INT, CONF_BOOL, CONF_TIME, CONF_LIST, CONF_ENUM, CONF_MODE };

enum conf_scope { CONF_GLOBAL, CONF_SYSTEM, CONF_SCENARIO };

struct conf_key {
	const char *name; /* the name, or the suffix of NAME_suffix */
	enum conf_type type;
	const char *def;
	long long min, max;
	const char *choices; /* ENUM: space separated */
	const char *doc;
	enum conf_scope scope;
	/* 1: declared and documented, but nothing reads it yet (KEY_TODO in
	 * config_keys.def): setting it is an error rather than a silent no-op. */
	int todo;
};

struct config;

/* config_keys: the table, terminated by name == NULL. */
const struct conf_key *config_keys(void);

/* config_load: read PATH. NULL on error, *err_r set (caller frees). */
struct config *config_load(const char *path, char **err_r);
/* config_parse: the same from a string; FILENAME names it in errors. */
struct config *config_parse(const char *text, const char *filename, char **err_r);
/*
 * A config is reference-counted (as OpenDKIM's): the loader holds one
 * reference; config_ref() adds one (a request keeps the config it started
 * with across a reload) and returns CFG; config_unref() drops one, frees
 * at the last and sets *CFG to NULL. config_free() is config_unref().
 */
struct config *config_ref(struct config *cfg);
void config_unref(struct config **cfg);
void config_free(struct config **cfg);
/*
 * config_keep: give DST the value SRC has for the global key NAME (a key
 * that cannot change without a restart). Returns 1 if it differed, 0 if
 * not. An undeclared NAME aborts, as the getters do.
 */
int config_keep(struct config *dst, const struct config *src, const char *name);

const char *config_path(const struct config *cfg);
const char *config_str(const struct config *cfg, const char *name);
/* config_int: an INT value, or the bits of a MODE value. */
long long config_int(const struct config *cfg, const char *name);
int config_bool(const struct config *cfg, const char *name);
/* config_time_ms: TIME value in milliseconds. */
long long config_time_ms(const struct config *cfg, const char *name);
/* config_list: words of a LIST value; *n_r their count. */
const char *const *config_list(const struct config *cfg, const char *name, size_t *n_r);

/* Per-system and per-scenario values: config_sys("s1", "domain"). */
const char *config_sys_str(const struct config *cfg, const char *sys, const char *suffix);
long long config_sys_time_ms(const struct config *cfg, const char *sys, const char *suffix);
int config_scn_bool(const struct config *cfg, const char *scn, const char *suffix);
long long config_scn_time_ms(const struct config *cfg, const char *scn, const char *suffix);
/* config_has_system / config_has_scenario: 1 if NAME is declared. */
int config_has_system(const struct config *cfg, const char *name);
int config_has_scenario(const struct config *cfg, const char *name);
/* config_system_by_domain: system whose NAME_domain is DOMAIN, or NULL. */
const char *config_system_by_domain(const struct config *cfg, const char *domain);

/*
 * config_print: "name = value" per key, like postconf. FLAGS:
 * CONFIG_PRINT_DEFAULTS prints defaults instead of effective values;
 * CONFIG_PRINT_SET prints only keys set in the file, as written and in the
 * file's order (the others are sorted by name).
 */
#define CONFIG_PRINT_DEFAULTS 1
#define CONFIG_PRINT_SET 2
void config_print(const struct config *cfg, FILE *fp, int flags);

/* Value parsers, exposed for tests: 0 on success, -1 with *why_r. */
int config_parse_time_ms(const char *s, long long *ms_r, const char **why_r);
int config_parse_bool(const char *s, int *b_r);

#endif
