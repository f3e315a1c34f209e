/*
 * config_impl - what config.c (the table, getters, life cycle) and
 * config_parse.c (main.cf syntax, $name expansion, checks) share. Not for
 * any other module: config.h is the interface.
 */
#ifndef FEDMIG_CONFIG_IMPL_H
#define FEDMIG_CONFIG_IMPL_H

#include <stddef.h>

#include "config.h"

#define MAX_NAME 256

struct entry {
	char *name;
	char *raw;   /* as written (or the default) */
	char *value; /* after $name expansion */
	int line;    /* 0: default */
	const struct conf_key *key;
	char **words; /* LIST */
	size_t nwords;
	long long num; /* INT, TIME (ms), BOOL, MODE */
};

struct config {
	char *path;
	struct entry *v;
	size_t n, cap;
	int refs; /* config_ref() holders; the loader's reference is 1 */
};

/* conf_find: the entry named NAME, or NULL. */
struct entry *conf_find(const struct config *cfg, const char *name);

/* conf_add: a new entry NAME = RAW from LINE (0: a default); NAME and RAW
 * are copied. The pointer is valid until the next conf_add() on CFG. */
struct entry *conf_add(struct config *cfg, const char *name, const char *raw, int line);

/* conf_split_words: LIST syntax, words separated by white space or commas;
 * the array and each word are the caller's, freed with conf_free_words(). */
char **conf_split_words(const char *s, size_t *n_r);

void conf_free_words(char **w, size_t n);

#endif
