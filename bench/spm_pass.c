/*
 * spm_pass - benchmark helper for bench/spm: one due pass of the pilot
 * (pilot_pass: select the due requests, run each through its steps, every
 * transition committed) on the store named by CONFIG, timed. Prints
 * "due_pass_ms=N moved=N". The store may be a file or a postgresql:// URL.
 */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "pilot.h"
#include "postfix.h"
#include "store.h"
#include "timeutil.h"

int main(int argc, char **argv)
{
	struct config *cfg;
	struct store *s;
	struct pilot *p;
	struct pf *pf;
	char *err = NULL;

	if (argc != 2) {
		fprintf(stderr, "usage: spm_pass CONFIG\n");
		return 2;
	}
	if ((cfg = config_load(argv[1], &err)) == NULL ||
	    (s = store_open_config(cfg, STORE_RDWR, (uid_t)-1, (gid_t)-1, &err)) == NULL ||
	    (pf = pf_open(cfg, &err)) == NULL) {
		fprintf(stderr, "spm_pass: %s\n", err);
		return 1;
	}
	p = pilot_new(cfg, s, pf);
	long long t0 = time_mono_us();
	int moved = pilot_pass(p);
	long long t1 = time_mono_us();

	printf("due_pass_ms=%lld moved=%d\n", (t1 - t0) / 1000, moved);
	pilot_free(&p);
	pf_close(&pf);
	store_close(&s);
	config_free(&cfg);
	return moved < 0;
}
