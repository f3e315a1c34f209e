/*
 * store_lead - which of several processes sharing the store leads
 * (issue 18: several fedmig-spm, one pilot). A thin layer over lib/db.h's
 * session lock (db_lock_try, db_lock_held), whose contract holds: on
 * PostgreSQL an advisory lock held for the store's connection, on SQLite
 * an flock on the file "STATE_DATABASE.NAME-lock" beside the database.
 *
 * store_lead_try: 1 when this store's connection now holds lead NAME (or
 * held it already), 0 when another process does, STORE_ERR (the store's
 * error says why). store_lead_held: 1 while it is still held; 0 once it
 * is not (a PostgreSQL connection lost and opened again: another process
 * may lead now, this one must stop); STORE_ERR when the database cannot
 * tell.
 *
 * store_lead_keep: for a process that must hold NAME as long as it runs
 * (one process per name): 1 while held, when the database cannot tell,
 * or when it was taken again after a lost connection (*RETAKEN_R 1, for
 * the caller's log); 0 when another process took it meanwhile: stop.
 */
#ifndef FEDMIG_STORE_LEAD_H
#define FEDMIG_STORE_LEAD_H

#include "store.h"

int store_lead_try(struct store *s, const char *name);
int store_lead_held(struct store *s);
int store_lead_keep(struct store *s, const char *name, int *retaken_r);

#endif
