/*
 * ctl_directory - fedmigctl directory commands: import a CSV file, list,
 * show, lookup (what Postfix gets), and the low-level hold, unhold and
 * switch that fedmig-spm performs (for tests and emergencies).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "csv.h"
#include "ctl.h"
#include "timeutil.h"
#include "xalloc.h"

#define IMPORT_FIELDS 4

/* --- a string set remembering the line of each address (duplicates) --- */

struct seen {
	char **key;
	int *line;
	size_t cap, n;
};

static unsigned long hash_str(const char *s)
{
	unsigned long h = 5381;

	while (*s)
		h = h * 33 ^ (unsigned char)*s++;
	return h;
}

static void seen_grow(struct seen *t);

/* seen_add: 0 if KEY is new (stored), else the line it was first seen on. */
static int seen_add(struct seen *t, const char *key, int line)
{
	if (t->n * 2 >= t->cap)
		seen_grow(t);
	size_t i = hash_str(key) & (t->cap - 1);

	while (t->key[i]) {
		if (strcmp(t->key[i], key) == 0)
			return t->line[i];
		i = (i + 1) & (t->cap - 1);
	}
	t->key[i] = xstrdup(key);
	t->line[i] = line;
	t->n++;
	return 0;
}

static void seen_grow(struct seen *t)
{
	struct seen old = *t;

	t->cap = old.cap ? old.cap * 2 : 1024;
	t->key = xcalloc(t->cap, sizeof(*t->key));
	t->line = xcalloc(t->cap, sizeof(*t->line));
	t->n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.key[i]) {
			seen_add(t, old.key[i], old.line[i]);
			free(old.key[i]);
		}
	free(old.key);
	free(old.line);
}

static void seen_free(struct seen *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->key[i]);
	free(t->key);
	free(t->line);
}

/* --- import --- */

struct import {
	struct ctl *ctl;
	const char *file;
	int errors;
	struct dir_row *rows;
	size_t nrows, cap;
	struct seen seen;
	int fold;
	int have_header;
};

static void row_error(void *ctx, int line, const char *why)
{
	struct import *im = ctx;

	fprintf(stderr, "%s:%d: %s\n", im->file, line, why);
	im->errors++;
}

static int federated(const struct config *cfg, const char *domain)
{
	size_t n;
	const char *const *d = config_list(cfg, "federated_domains", &n);

	size_t dl = strlen(domain);

	/* As written in the config: any case, maybe a trailing dot. */
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(d[i]);

		if (l > 0 && d[i][l - 1] == '.')
			l--;
		if (l == dl && strncasecmp(d[i], domain, l) == 0)
			return 1;
	}
	return 0;
}

/* norm: canonical copy of field F (a role name for errors), or NULL. */
static char *norm(struct import *im, int line, const char *role, const char *f)
{
	char out[ADDR_MAX], shown[128], why[512];
	const char *reason;

	if (addr_normalize(f, strlen(f), im->fold ? ADDR_FOLD_LOCAL : 0, out, &reason) < 0) {
		/* The field is outside input: its bytes are shown, never sent raw
		 * to the admin's terminal. */
		snprintf(why, sizeof(why), "%s \"%s\": %s", role,
			 addr_show(f, strlen(f), shown, sizeof(shown)), reason);
		row_error(im, line, why);
		return NULL;
	}
	return xstrdup(out);
}

static void check_unique(struct import *im, int line, const char *role, const char *addr)
{
	int first = seen_add(&im->seen, addr, line);
	char why[ADDR_MAX + 128];

	if (first) {
		snprintf(why, sizeof(why), "%s %s already appears on line %d", role, addr, first);
		row_error(im, line, why);
	}
}

/* norm_aliases: the canonical aliases of the space-separated LIST; one
 * that is not an address is reported and left out. */
static char **norm_aliases(struct import *im, int line, const char *field, size_t *n_r)
{
	char **aliases = NULL;
	size_t naliases = 0;
	char *list = xstrdup(field), *save = NULL;

	for (char *a = strtok_r(list, " \t", &save); a; a = strtok_r(NULL, " \t", &save)) {
		char *c = norm(im, line, "alias", a);

		if (c == NULL)
			continue;
		aliases = xrealloc(aliases, (naliases + 1) * sizeof(*aliases));
		aliases[naliases++] = c;
	}
	free(list);
	*n_r = naliases;
	return aliases;
}

/* check_domains: the system is declared, the physical address is in its
 * domain, and every address a user types is in federated_domains. */
static void check_domains(struct import *im, int line, const char *system, const char *access,
			  const char *physical, char **aliases, size_t naliases)
{
	const struct config *cfg = im->ctl->cfg;
	char why[512];

	if (!config_has_system(cfg, system)) {
		char shown[80];

		snprintf(why, sizeof(why), "unknown system \"%s\" (not in systems)",
			 addr_show(system, strlen(system), shown, sizeof(shown)));
		row_error(im, line, why);
	} else if (physical) {
		const char *dom = config_sys_str(cfg, system, "domain");

		if (strcasecmp(addr_domain(physical), dom) != 0) {
			snprintf(why, sizeof(why), "physical address %s is not in %s's domain %s",
				 physical, system, dom);
			row_error(im, line, why);
		}
	}
	if (access && !federated(cfg, addr_domain(access))) {
		snprintf(why, sizeof(why), "access address %s is not in federated_domains", access);
		row_error(im, line, why);
	}
	for (size_t i = 0; i < naliases; i++)
		if (!federated(cfg, addr_domain(aliases[i]))) {
			snprintf(why, sizeof(why), "alias %s is not in federated_domains", aliases[i]);
			row_error(im, line, why);
		}
}

/* append_row: the checked record becomes a row; the row owns the strings. */
static void append_row(struct import *im, int line, char *access, const char *system,
		       char *physical, char **aliases, size_t naliases)
{
	if (im->nrows == im->cap) {
		im->cap = im->cap ? im->cap * 2 : 1024;
		im->rows = xrealloc(im->rows, im->cap * sizeof(*im->rows));
	}
	struct dir_row *r = &im->rows[im->nrows++];

	r->access = access;
	r->system = xstrdup(system);
	r->physical = physical;
	r->aliases = (const char *const *)aliases;
	r->naliases = naliases;
	r->line = line;
}

static void add_record(struct import *im, const struct csv *csv)
{
	int line = csv_line(csv);
	size_t nf = csv_nfields(csv);
	char why[512];

	if (nf == 1 && csv_field(csv, 0, NULL)[0] == '\0')
		return; /* blank line */
	if (nf != IMPORT_FIELDS) {
		snprintf(why, sizeof(why), "expected %d fields (access,system,physical,aliases), found %zu",
			 IMPORT_FIELDS, nf);
		row_error(im, line, why);
		return;
	}
	int before = im->errors;
	char *access = norm(im, line, "access address", csv_field(csv, 0, NULL));
	const char *system = csv_field(csv, 1, NULL);
	char *physical = norm(im, line, "physical address", csv_field(csv, 2, NULL));
	size_t naliases;
	char **aliases = norm_aliases(im, line, csv_field(csv, 3, NULL), &naliases);

	check_domains(im, line, system, access, physical, aliases, naliases);
	if (access)
		check_unique(im, line, "access address", access);
	if (physical)
		check_unique(im, line, "physical address", physical);
	for (size_t i = 0; i < naliases; i++)
		check_unique(im, line, "alias", aliases[i]);
	if (im->errors == before) {
		append_row(im, line, access, system, physical, aliases, naliases);
		return;
	}
	free(access);
	free(physical);
	for (size_t i = 0; i < naliases; i++)
		free(aliases[i]);
	free(aliases);
}

static int header_ok(const struct csv *csv)
{
	static const char *const want[IMPORT_FIELDS] = {"access", "system", "physical", "aliases"};

	if (csv_nfields(csv) != IMPORT_FIELDS)
		return 0;
	for (int i = 0; i < IMPORT_FIELDS; i++) {
		const char *f = csv_field(csv, (size_t)i, NULL);

		while (*f == ' ')
			f++;
		if (strncasecmp(f, want[i], strlen(want[i])) != 0)
			return 0;
	}
	return 1;
}

/* directory_row: the header first, then the rows; a bad first line
 * counts as the header (it is reported either way). */
static void directory_row(void *ctx, const struct csv *csv, const char *error)
{
	struct import *im = ctx;

	if (error) {
		row_error(im, csv_line(csv), error);
		im->have_header = 1;
	} else if (!im->have_header) {
		im->have_header = 1;
		if (!header_ok(csv))
			row_error(im, csv_line(csv), "the first line must be the header "
						    "access,system,physical,aliases");
	} else {
		add_record(im, csv);
	}
}

static void free_rows(struct import *im)
{
	for (size_t i = 0; i < im->nrows; i++) {
		struct dir_row *r = &im->rows[i];

		free((char *)r->access);
		free((char *)r->system);
		free((char *)r->physical);
		for (size_t j = 0; j < r->naliases; j++)
			free((char *)r->aliases[j]);
		free((char **)r->aliases);
	}
	free(im->rows);
	seen_free(&im->seen);
}

static int cmd_import(struct ctl *ctl, int argc, char **argv)
{
	struct import im;
	struct dir_import_result res;
	int dry_run = 0;
	const char *file = NULL;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0 || strcmp(argv[i], "-n") == 0)
			dry_run = 1;
		else if (file == NULL)
			file = argv[i];
		else
			return ctl_usage(&ctl_directory_cmds[0]);
	}
	if (file == NULL)
		return ctl_usage(&ctl_directory_cmds[0]);
	memset(&im, 0, sizeof(im));
	im.ctl = ctl;
	im.file = file;
	im.fold = config_bool(ctl->cfg, "fold_local_part");
	size_t nfed;

	config_list(ctl->cfg, "federated_domains", &nfed);
	if (nfed == 0) {
		fprintf(stderr, "fedmigctl: federated_domains is empty in %s\n",
			config_path(ctl->cfg));
		return 1;
	}
	char *err = NULL;

	if (csv_read_file(file, directory_row, &im, &err) < 0) {
		fprintf(stderr, "fedmigctl: %s\n", err);
		free(err);
		free_rows(&im);
		return 1;
	}
	if (!im.have_header)
		row_error(&im, 1, "empty file: the header access,system,physical,aliases is missing");
	if (im.errors) {
		fprintf(stderr, "fedmigctl: %s: %d bad row%s: nothing imported\n", file, im.errors,
			im.errors == 1 ? "" : "s");
		free_rows(&im);
		return 1;
	}
	struct store *s = ctl_store(ctl);
	size_t nsys;
	const char *const *sys = config_list(ctl->cfg, "systems", &nsys);

	if (!dry_run)
		for (size_t i = 0; i < nsys; i++)
			if (store_system_put(s, sys[i], config_sys_str(ctl->cfg, sys[i], "domain")) < 0) {
				fprintf(stderr, "fedmigctl: %s\n", store_errmsg(s));
				free_rows(&im);
				return 1;
			}
	if (store_dir_import(s, im.rows, im.nrows, dry_run, &res, row_error, &im) < 0) {
		if (im.errors)
			fprintf(stderr, "fedmigctl: %s: %d bad row%s: nothing imported\n", file,
				im.errors, im.errors == 1 ? "" : "s");
		else
			fprintf(stderr, "fedmigctl: %s: %s: nothing imported\n", file, store_errmsg(s));
		free_rows(&im);
		return 1;
	}
	printf("%s: %zu rows: %zu added, %zu updated, %zu unchanged%s\n", file, im.nrows, res.added,
	       res.updated, res.unchanged, dry_run ? " (dry run: nothing written)" : "");
	free_rows(&im);
	return 0;
}

/* --- list, show, lookup --- */

static int list_one(void *ctx, const struct dir_entry *e)
{
	struct ctl *ctl = ctx;
	char *aliases = NULL;

	if (store_dir_aliases(ctl->store, e->access, &aliases) < 0)
		return 1;
	printf("%-32s %-8s %-36s %-6s %s\n", e->access, e->system, e->physical,
	       e->held ? "held" : "normal", *aliases ? aliases : "-");
	free(aliases);
	return 0;
}

static int cmd_list(struct ctl *ctl, int argc, char **argv)
{
	struct store *s = ctl_store(ctl);

	if (argc != 0)
		return ctl_usage(&ctl_directory_cmds[1]);
	printf("%-32s %-8s %-36s %-6s %s\n", "ACCESS", "SYSTEM", "PHYSICAL", "STATE", "ALIASES");
	if (store_dir_each(s, list_one, ctl) < 0) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(s));
		return 1;
	}
	return 0;
}

static const char *match_name(enum dir_match m)
{
	static const char *const names[] = {"access address", "alias", "physical address",
					    "former physical address"};

	return names[m];
}

static int lookup_arg(struct ctl *ctl, const char *arg, struct dir_entry *e)
{
	char addr[ADDR_MAX];
	struct store *s = ctl_store(ctl);
	int rc;

	if (ctl_normalize(ctl, arg, addr) < 0)
		return 2;
	rc = store_dir_lookup(s, addr, e);
	if (rc == STORE_ERR) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(s));
		return 1;
	}
	if (rc == STORE_NOTFOUND) {
		fprintf(stderr, "fedmigctl: %s: not in the directory\n", addr);
		return 1;
	}
	return 0;
}

static int cmd_show(struct ctl *ctl, int argc, char **argv)
{
	struct dir_entry e;
	char *aliases, *formers, t1[TIME_BUF], t2[TIME_BUF];
	int rc;

	if (argc != 1)
		return ctl_usage(&ctl_directory_cmds[2]);
	if ((rc = lookup_arg(ctl, argv[0], &e)) != 0)
		return rc;
	if (store_dir_aliases(ctl->store, e.access, &aliases) < 0 ||
	    store_dir_formers(ctl->store, e.access, &formers) < 0) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl->store));
		return 1;
	}
	printf("address:   %s (%s)\n", argv[0], match_name(e.match));
	printf("access:    %s\n", e.access);
	printf("system:    %s\n", e.system);
	printf("physical:  %s\n", e.physical);
	printf("aliases:   %s\n", *aliases ? aliases : "-");
	printf("formerly:  %s\n", *formers ? formers : "-");
	printf("state:     %s%s%s\n", e.held ? "held since " : "normal",
	       e.held ? time_format_local(e.held_since, t1) : "", "");
	printf("switched:  %s\n", time_format_local(e.switched_at, t2));
	if (e.request_id)
		printf("request:   %lld\n", e.request_id);
	free(aliases);
	free(formers);
	if (ctl_dirsync_show(ctl, &e) < 0) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl->store));
		return 1;
	}
	return 0;
}

static int cmd_lookup(struct ctl *ctl, int argc, char **argv)
{
	char addr[ADDR_MAX], out[ADDR_MAX];
	struct store *s;
	int rc;

	if (argc != 1)
		return ctl_usage(&ctl_directory_cmds[3]);
	if (ctl_normalize(ctl, argv[0], addr) < 0)
		return 2;
	s = ctl_store(ctl);
	rc = store_dir_rewrite(s, addr, out);
	if (rc == STORE_ERR) {
		/* What the socketmap would answer: TEMP, never NOTFOUND. */
		fprintf(stderr, "fedmigctl: TEMP %s\n", store_errmsg(s));
		return 1;
	}
	if (rc == STORE_NOTFOUND)
		return 1; /* like postmap -q: nothing printed */
	printf("%s\n", out);
	return 0;
}

/* --- low level: hold, unhold, switch --- */

static int result(struct store *s, int rc, const char *what, const char *addr)
{
	if (rc == STORE_OK) {
		printf("%s: %s\n", addr, what);
		return 0;
	}
	fprintf(stderr, "fedmigctl: %s\n", store_errmsg(s));
	return 1;
}

static int cmd_hold(struct ctl *ctl, int argc, char **argv)
{
	char addr[ADDR_MAX];

	if (argc != 1)
		return ctl_usage(&ctl_directory_cmds[4]);
	if (ctl_normalize(ctl, argv[0], addr) < 0)
		return 2;
	return result(ctl_store(ctl), store_dir_hold(ctl_store(ctl), addr, 0, time_now_us()),
		      "held", addr);
}

static int cmd_unhold(struct ctl *ctl, int argc, char **argv)
{
	char addr[ADDR_MAX];

	if (argc != 1)
		return ctl_usage(&ctl_directory_cmds[5]);
	if (ctl_normalize(ctl, argv[0], addr) < 0)
		return 2;
	return result(ctl_store(ctl), store_dir_unhold(ctl_store(ctl), addr), "not held", addr);
}

static int cmd_switch(struct ctl *ctl, int argc, char **argv)
{
	char addr[ADDR_MAX], phys[ADDR_MAX];

	if (argc != 3)
		return ctl_usage(&ctl_directory_cmds[6]);
	if (ctl_normalize(ctl, argv[0], addr) < 0 || ctl_normalize(ctl, argv[2], phys) < 0)
		return 2;
	if (!config_has_system(ctl->cfg, argv[1])) {
		fprintf(stderr, "fedmigctl: unknown system %s\n", argv[1]);
		return 1;
	}
	if (strcasecmp(addr_domain(phys), config_sys_str(ctl->cfg, argv[1], "domain")) != 0) {
		fprintf(stderr, "fedmigctl: %s is not in %s's domain %s\n", phys, argv[1],
			config_sys_str(ctl->cfg, argv[1], "domain"));
		return 1;
	}
	return result(ctl_store(ctl),
		      store_dir_switch(ctl_store(ctl), addr, argv[1], phys, 0, time_now_us()),
		      "switched", addr);
}

const struct ctl_cmd ctl_directory_cmds[] = {
	{"directory import", "FILE.csv [--dry-run]",
	 "add or update directory entries from a CSV file, all or nothing", cmd_import},
	{"directory list", "", "list every directory entry", cmd_list},
	{"directory show", "ADDRESS", "show the entry an address leads to", cmd_show},
	{"directory lookup", "ADDRESS",
	 "print what Postfix's virtual_alias_maps gets for an address (exit 1: not found)",
	 cmd_lookup},
	{"directory hold", "ADDRESS", "hold mail for an access address (low level)", cmd_hold},
	{"directory unhold", "ADDRESS", "stop holding mail for an access address (low level)",
	 cmd_unhold},
	{"directory switch", "ADDRESS SYSTEM PHYSICAL",
	 "point an access address at a new mailbox now (low level)", cmd_switch},
	{NULL, NULL, NULL, NULL},
};
