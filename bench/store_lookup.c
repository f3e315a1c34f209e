/*
 * store_lookup - benchmark helper: random directory lookups through the
 * store API the daemons use (read-only open, one prepared statement per
 * lookup, no cache). Prints "lookups_s=N".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "timeutil.h"
#include "xalloc.h"

struct keys {
	char **v;
	size_t n, cap;
};

static int collect(void *ctx, const struct dir_entry *e)
{
	struct keys *k = ctx;

	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 1024;
		k->v = xrealloc(k->v, k->cap * sizeof(*k->v));
	}
	k->v[k->n++] = xstrdup(e->access);
	return 0;
}

int main(int argc, char **argv)
{
	struct keys k = {NULL, 0, 0};
	char *err = NULL;
	struct store *s;
	struct dir_entry e;
	long n, found = 0;
	unsigned long r = 12345;

	if (argc != 3) {
		fprintf(stderr, "usage: store_lookup DB COUNT\n");
		return 2;
	}
	n = atol(argv[2]);
	s = store_open(argv[1], STORE_RDONLY, 1000, &err);
	if (s == NULL) {
		fprintf(stderr, "store_lookup: %s\n", err);
		return 1;
	}
	if (store_dir_each(s, collect, &k) < 0 || k.n == 0) {
		fprintf(stderr, "store_lookup: empty directory\n");
		return 1;
	}
	long long t0 = time_mono_us();

	for (long i = 0; i < n; i++) {
		r = r * 6364136223846793005UL + 1442695040888963407UL;
		found += store_dir_lookup(s, k.v[(r >> 33) % k.n], &e) == STORE_OK;
	}
	long long us = time_mono_us() - t0;

	if (found != n) {
		fprintf(stderr, "store_lookup: %ld of %ld found\n", found, n);
		return 1;
	}
	printf("lookups=%ld seconds=%.3f lookups_s=%.0f\n", n, us / 1e6, n / (us / 1e6));
	for (size_t i = 0; i < k.n; i++)
		free(k.v[i]);
	free(k.v);
	store_close(&s);
	return 0;
}
