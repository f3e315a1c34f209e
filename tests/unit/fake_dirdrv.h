/*
 * fake_dirdrv - spm/dirdrv.h from memory, for tests/unit/test_dirsync.c:
 * each system's accounts, listing result, incremental changes and
 * contacts are what the test put in fake_dir; the calls are counted.
 */
#ifndef FEDMIG_FAKE_DIRDRV_H
#define FEDMIG_FAKE_DIRDRV_H

#include <stddef.h>

#include "dirdrv.h"

#define FAKE_MAX 64

struct fake_sys {
	char name[16];
	int list_rc;	   /* DRV_OK, DRV_TEMP, DRV_FAIL */
	int incremental;   /* 1: the listing is acc/gone as changes */
	struct {
		char key[64], access[128], physical[128], aliases[256], name[64], group[128];
	} acc[FAKE_MAX];
	size_t nacc;
	char gone[FAKE_MAX][64];
	size_t ngone;
	char cookie[64];   /* given out; "" none */
	char got_cookie[64]; /* the cookie the last listing was asked with */
	int has_contacts;
	struct {
		char address[128], name[64];
	} contacts[FAKE_MAX];
	size_t ncontacts;
	char exists[128];  /* contact_put of this address: DIR_EXISTS */
	int puts, dels, contacts_rc;
};

extern struct fake_sys fake_dir[2];

void fake_dir_reset(void);
struct fake_sys *fake_sys(const char *name);
void fake_acc(const char *sys, const char *key, const char *access, const char *physical,
	      const char *aliases, const char *name);
/* fake_acc_drop: the account with KEY leaves SYS's listing. */
void fake_acc_drop(const char *sys, const char *key);
/* fake_contact_has: 1 if SYS has a contact for ADDR (its name in NAME). */
int fake_contact_has(const char *sys, const char *addr, const char **name_r);

#endif
