/*
 * fake_dirdrv - spm/dirdrv.h from memory (contract in fake_dirdrv.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_dirdrv.h"
#include "xalloc.h"

struct fake_sys fake_dir[2];

void fake_dir_reset(void)
{
	memset(fake_dir, 0, sizeof(fake_dir));
	snprintf(fake_dir[0].name, sizeof(fake_dir[0].name), "s1");
	snprintf(fake_dir[1].name, sizeof(fake_dir[1].name), "s2");
	fake_dir[0].has_contacts = fake_dir[1].has_contacts = 1;
}

struct fake_sys *fake_sys(const char *name)
{
	return strcmp(name, "s1") == 0 ? &fake_dir[0] : strcmp(name, "s2") == 0 ? &fake_dir[1] : NULL;
}

void fake_acc(const char *sys, const char *key, const char *access, const char *physical,
	      const char *aliases, const char *name)
{
	struct fake_sys *f = fake_sys(sys);
	size_t i;

	for (i = 0; i < f->nacc && strcmp(f->acc[i].key, key) != 0; i++)
		;
	if (i == f->nacc)
		f->nacc++;
	snprintf(f->acc[i].key, sizeof(f->acc[i].key), "%s", key);
	snprintf(f->acc[i].access, sizeof(f->acc[i].access), "%s", access);
	snprintf(f->acc[i].physical, sizeof(f->acc[i].physical), "%s", physical);
	snprintf(f->acc[i].aliases, sizeof(f->acc[i].aliases), "%s", aliases);
	snprintf(f->acc[i].name, sizeof(f->acc[i].name), "%s", name);
}

void fake_acc_drop(const char *sys, const char *key)
{
	struct fake_sys *f = fake_sys(sys);

	for (size_t i = 0; i < f->nacc; i++)
		if (strcmp(f->acc[i].key, key) == 0) {
			f->acc[i] = f->acc[--f->nacc];
			return;
		}
}

int fake_contact_has(const char *sys, const char *addr, const char **name_r)
{
	struct fake_sys *f = fake_sys(sys);

	for (size_t i = 0; i < f->ncontacts; i++)
		if (strcmp(f->contacts[i].address, addr) == 0) {
			if (name_r)
				*name_r = f->contacts[i].name;
			return 1;
		}
	return 0;
}

int dirdrv_list(const struct config *cfg, const char *sys, const char *cookie,
		struct dir_listing *out, char *why)
{
	struct fake_sys *f = fake_sys(sys);

	memset(out, 0, sizeof(*out));
	snprintf(f->got_cookie, sizeof(f->got_cookie), "%s", cookie ? cookie : "");
	if (f->list_rc != DRV_OK) {
		snprintf(why, DRV_WHY, "fake: %s listing fails", sys);
		return f->list_rc;
	}
	out->acc = xcalloc(f->nacc + 1, sizeof(*out->acc));
	for (size_t i = 0; i < f->nacc; i++)
		out->acc[out->nacc++] = (struct dir_account){
			xstrdup(f->acc[i].key),	    xstrdup(f->acc[i].access),
			xstrdup(f->acc[i].physical), xstrdup(f->acc[i].aliases),
			xstrdup(f->acc[i].name),     xstrdup(f->acc[i].group)};
	out->gone = xcalloc(f->ngone + 1, sizeof(*out->gone));
	for (size_t i = 0; i < f->ngone; i++)
		out->gone[out->ngone++] = xstrdup(f->gone[i]);
	out->incremental = f->incremental;
	out->cookie = *f->cookie ? xstrdup(f->cookie) : NULL;
	return DRV_OK;
}

int dirdrv_contacts(const struct config *cfg, const char *sys, struct dir_contact **out,
		    size_t *n_r, char *why)
{
	struct fake_sys *f = fake_sys(sys);
	struct dir_contact *v = xcalloc(f->ncontacts + 1, sizeof(*v));

	if (f->contacts_rc != DRV_OK) {
		free(v);
		snprintf(why, DRV_WHY, "fake: %s contacts fail", sys);
		return f->contacts_rc;
	}
	for (size_t i = 0; i < f->ncontacts; i++)
		v[i] = (struct dir_contact){xstrdup(f->contacts[i].address),
					    xstrdup(f->contacts[i].name),
					    xstrdup(f->contacts[i].address)};
	*out = v;
	*n_r = f->ncontacts;
	return DRV_OK;
}

int dirdrv_contact_put(const struct config *cfg, const char *sys, const struct dir_contact *c,
		       char *why)
{
	struct fake_sys *f = fake_sys(sys);
	size_t i;

	f->puts++;
	if (strcmp(c->address, f->exists) == 0) {
		snprintf(why, DRV_WHY, "fake: a hand-made entry has %s", c->address);
		return DIR_EXISTS;
	}
	for (i = 0; i < f->ncontacts && strcmp(f->contacts[i].address, c->address) != 0; i++)
		;
	if (i == f->ncontacts)
		f->ncontacts++;
	snprintf(f->contacts[i].address, sizeof(f->contacts[i].address), "%s", c->address);
	snprintf(f->contacts[i].name, sizeof(f->contacts[i].name), "%s", c->name);
	return DRV_OK;
}

int dirdrv_contact_del(const struct config *cfg, const char *sys, const char *address, char *why)
{
	struct fake_sys *f = fake_sys(sys);

	f->dels++;
	for (size_t i = 0; i < f->ncontacts; i++)
		if (strcmp(f->contacts[i].address, address) == 0) {
			f->contacts[i] = f->contacts[--f->ncontacts];
			break;
		}
	return DRV_OK;
}

int dirdrv_has_contacts(const struct config *cfg, const char *sys)
{
	return fake_sys(sys)->has_contacts;
}

void dir_listing_free(struct dir_listing *l)
{
	for (size_t i = 0; i < l->nacc; i++) {
		free(l->acc[i].key);
		free(l->acc[i].access);
		free(l->acc[i].physical);
		free(l->acc[i].aliases);
		free(l->acc[i].name);
		free(l->acc[i].group);
	}
	free(l->acc);
	for (size_t i = 0; i < l->ngone; i++)
		free(l->gone[i]);
	free(l->gone);
	free(l->cookie);
	memset(l, 0, sizeof(*l));
}

void dir_contacts_free(struct dir_contact *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].address);
		free(c[i].name);
		free(c[i].key);
	}
	free(c);
}
