/*
 * store_copy - fill an empty PostgreSQL store from a SQLite one
 * (fedmigctl store copy): a site that began on one host, SQLite, moves to
 * several hosts sharing PostgreSQL without losing a request, a journal
 * row or an agent.
 *
 * store_copy_run(C, FROM, TO, ERR_R): FROM a SQLite store and TO a
 * PostgreSQL one, both at this program's schema version. TO must hold no
 * row outside schema_version. Every table of TO is filled from FROM's
 * table of the same name and columns, in one transaction on TO: all or
 * nothing. A table or column one side has and the other has not, a
 * value the column cannot take (text where a number belongs, a real
 * number, a NUL in text) stop the copy with *ERR_R (caller frees) naming
 * the table, and TO is left as it was. Each identity column's sequence
 * is moved past the largest id copied, so new rows never collide. Returns
 * the rows copied, or -1.
 *
 * C keeps the statements' text: TO's statement cache is keyed by it
 * (lib/db.h), so store_copy_free() comes after store_close(TO).
 * store_copy_table(C, I, NAME_R, ROWS_R): table I of the last run (0 on
 * success, -1 past the end), for the admin's summary.
 */
#ifndef FEDMIG_STORE_COPY_H
#define FEDMIG_STORE_COPY_H

#include "store.h"

struct store_copy;

struct store_copy *store_copy_new(void);
long long store_copy_run(struct store_copy *c, struct store *from, struct store *to, char **err_r);
int store_copy_table(const struct store_copy *c, int i, const char **name_r, long long *rows_r);
void store_copy_free(struct store_copy **c);

#endif
