#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "dirstore.h"
#include "log.h"

/* A broken store is reopened by the next request, but not more often. */
#define REOPEN_MIN_S 0.1

void dirstore_init(struct dirstore *ds, const char *path, int busy_ms)
{
	memset(ds, 0, sizeof(*ds));
	ds->path = path;
	ds->busy_ms = busy_ms;
}

static void drop(struct dirstore *ds, double now, const char *why)
{
	if (ds->store == NULL)
		return;
	if (now - ds->last_drop_log >= 1.0) {
		log_warn("directory unreadable: %s: %s (answering temporary failures)", ds->path,
			 why);
		ds->last_drop_log = now;
	}
	store_close(&ds->store);
}

static void try_open(struct dirstore *ds)
{
	char *err = NULL;
	struct stat st;

	ds->store = store_open_pw(ds->path, STORE_RDONLY, ds->busy_ms, ds->password_file, &err);
	if (ds->store == NULL) {
		/* Once per distinct error, not once a second. */
		if (ds->last_open_err == NULL || strcmp(ds->last_open_err, err) != 0)
			log_warn("directory unreadable: %s (answering temporary failures, "
				 "retrying every second)",
				 err);
		free(ds->last_open_err);
		ds->last_open_err = err;
		return;
	}
	if (stat(ds->path, &st) == 0) {
		ds->dev = st.st_dev;
		ds->ino = st.st_ino;
	}
	ds->suspect = 0;
	free(ds->last_open_err);
	ds->last_open_err = NULL;
	log_info("directory open: %s", ds->path);
}

void dirstore_failed(struct dirstore *ds, double now)
{
	ds->suspect = 1;
	if (now - ds->last_err_log >= 1.0) {
		log_warn("directory lookup: %s", store_errmsg(ds->store));
		ds->last_err_log = now;
	}
}

/* A failed lookup (a truncated or corrupt file, a replaced one) is followed
 * by a reopen here, so the answers come back as soon as the file is whole. */
struct store *dirstore_get(struct dirstore *ds, double now)
{
	if (ds->store && ds->suspect)
		drop(ds, now, "lookup failed, reopening");
	if (ds->store == NULL && now - ds->last_open_try >= REOPEN_MIN_S) {
		ds->last_open_try = now;
		try_open(ds);
	}
	return ds->store;
}

/* The answers follow what an administrator did to the file. */
void dirstore_check(struct dirstore *ds, double now)
{
	struct stat st;

	if (ds->store && db_is_url(ds->path)) {
		if (ds->suspect)
			drop(ds, now, "lookup failed, reopening");
	} else if (ds->store) {
		if (stat(ds->path, &st) < 0)
			drop(ds, now, strerror(errno));
		else if (st.st_dev != ds->dev || st.st_ino != ds->ino)
			drop(ds, now, "the file was replaced, reopening");
		else if (access(ds->path, R_OK) < 0)
			drop(ds, now, strerror(errno));
		else if (ds->suspect)
			drop(ds, now, "lookup failed, reopening");
	}
	if (ds->store == NULL)
		try_open(ds);
}

void dirstore_reopen(struct dirstore *ds)
{
	store_close(&ds->store);
	try_open(ds);
}

void dirstore_close(struct dirstore *ds)
{
	store_close(&ds->store);
	free(ds->last_open_err);
	ds->last_open_err = NULL;
}
