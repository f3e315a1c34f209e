/*
 * fedmigctl viewer add|list|remove: the read-only credentials of
 * fedmig-apid's status pages and /metrics (lib/store_viewer.h). The
 * secret is printed once and only its SHA-256 is stored; a removed
 * viewer is refused at its next request.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "ctl.h"
#include "store_viewer.h"
#include "timeutil.h"

static int cmd_add(struct ctl *ctl, int argc, char **argv);
static int cmd_list(struct ctl *ctl, int argc, char **argv);
static int cmd_remove(struct ctl *ctl, int argc, char **argv);

const struct ctl_cmd ctl_viewer_cmds[] = {
	{"viewer add", "NAME",
	 "a read-only credential for fedmig-apid's status page and /metrics: print its secret"
	 " (shown once)",
	 cmd_add},
	{"viewer list", "", "the viewers: name, created, last seen", cmd_list},
	{"viewer remove", "NAME", "refuse the viewer from now on", cmd_remove},
	{NULL, NULL, NULL, NULL},
};

static int check_name(const char *name)
{
	if (viewer_name_ok(name))
		return 0;
	fprintf(stderr, "fedmigctl: viewer name \"%.64s\": 1-64 letters, digits, '-', '_' or '.'\n",
		name);
	return -1;
}

static int cmd_add(struct ctl *ctl, int argc, char **argv)
{
	unsigned char raw[32], hash[SHA256_DIGEST_LENGTH];
	char secret[65];
	int rc;

	if (argc != 1)
		return ctl_usage(&ctl_viewer_cmds[0]);
	if (check_name(argv[0]) < 0)
		return 1;
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		fprintf(stderr, "fedmigctl: no random bytes for a secret\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(secret + 2 * i, 3, "%02x", raw[i]);
	SHA256((const unsigned char *)secret, 64, hash);
	rc = store_viewer_add(ctl_store(ctl), argv[0], hash, time_now_us());
	if (rc == STORE_VIEWER_EXISTS) {
		fprintf(stderr, "fedmigctl: viewer %s exists already (remove it first)\n", argv[0]);
		return 1;
	}
	if (rc != STORE_OK) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl_store(ctl)));
		return 1;
	}
	printf("%s\n", secret);
	return 0;
}

static int list_row(void *ctx, const struct viewer_row *r)
{
	char created[TIME_BUF], seen[TIME_BUF];

	if (*(int *)ctx)
		printf("%-24s %-19s %s\n", "NAME", "CREATED", "LAST SEEN");
	*(int *)ctx = 0;
	printf("%-24s %-19s %s\n", r->name, time_format_local(r->created, created),
	       time_format_local(r->last_seen, seen));
	return 0;
}

static int cmd_list(struct ctl *ctl, int argc, char **argv)
{
	int first = 1;

	(void)argv;
	if (argc != 0)
		return ctl_usage(&ctl_viewer_cmds[1]);
	if (store_viewer_each(ctl_store(ctl), list_row, &first) < 0) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl_store(ctl)));
		return 1;
	}
	return 0;
}

static int cmd_remove(struct ctl *ctl, int argc, char **argv)
{
	int rc;

	if (argc != 1)
		return ctl_usage(&ctl_viewer_cmds[2]);
	if (check_name(argv[0]) < 0)
		return 1;
	rc = store_viewer_remove(ctl_store(ctl), argv[0]);
	if (rc == STORE_NOTFOUND) {
		fprintf(stderr, "fedmigctl: no viewer %s\n", argv[0]);
		return 1;
	}
	if (rc != STORE_OK) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl_store(ctl)));
		return 1;
	}
	return 0;
}
