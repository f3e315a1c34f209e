/*
 * secrets - the files that hold passwords: NAME_credentials (master_user =
 * ..., master_password = ...) and NAME_user_passwords (one "LOGIN
 * PASSWORD" per line).
 *
 * secrets_read() refuses anything but a regular file owned by the
 * reading (effective) user that group and others cannot read (mode 0600
 * or stricter), a symbolic link, and files over SECRETS_MAX_BYTES; it
 * never blocks in open() (a FIFO is refused, not waited on), and its
 * errors say what to do ("chown USER FILE; chmod 0600 FILE"). It returns
 * the whole text NUL-terminated (caller wipes it with secrets_free). The parsers take that text and never log
 * or echo a value: errors name only FILE:LINE. All return 0 with the
 * result, 1 when the name or login is absent, -1 with *err_r on a
 * malformed file (caller frees the strings).
 */
#ifndef FEDMIG_SECRETS_H
#define FEDMIG_SECRETS_H

#include <stddef.h>

#define SECRETS_MAX_BYTES (4 << 20)

int secrets_read(const char *path, char **buf_r, size_t *len_r, char **err_r);
void secrets_free(char *buf, size_t len);
/* secrets_wipe: overwrite the string *P, free it, set *P to NULL. */
void secrets_wipe(char **p);

/* secrets_value: the value of "NAME = VALUE" (blanks around both trimmed). */
int secrets_value(const char *buf, size_t len, const char *path, const char *name,
		  char **value_r, char **err_r);

/*
 * secrets_user: the password of LOGIN in "LOGIN PASSWORD" lines: the
 * password is the rest of the line after the blanks that follow LOGIN,
 * kept exactly (inner and trailing blanks too; only CR LF is removed).
 */
int secrets_user(const char *buf, size_t len, const char *path, const char *login,
		 char **password_r, char **err_r);

#endif
