#include <string.h>
#include <strings.h>

#include "delim.h"

/* Local parts Postfix's split_addr() never splits: system addresses that
 * must reach their owner whatever the delimiter. */
static int unsplittable(const char *local, size_t n, const char *delims)
{
	static const char *const fixed[] = {"postmaster", "mailer-daemon", "double-bounce"};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (n == strlen(fixed[i]) && strncasecmp(local, fixed[i], n) == 0)
			return 1;
	/* Mailing-list conventions, kept whole when '-' is a delimiter. */
	if (strchr(delims, '-') != NULL &&
	    ((n >= 6 && strncasecmp(local, "owner-", 6) == 0) ||
	     (n > 8 && strncasecmp(local + n - 8, "-request", 8) == 0)))
		return 1;
	return 0;
}

int delim_split(const char *addr, const char *delims, char base[ADDR_MAX], size_t *ext_r)
{
	const char *at = strrchr(addr, '@');
	size_t n, d;

	if (delims == NULL || *delims == '\0' || at == NULL)
		return 0;
	n = (size_t)(at - addr);
	for (d = 0; d < n && strchr(delims, addr[d]) == NULL; d++)
		;
	/* The '\0' strchr() finds at the end of DELIMS never occurs in an
	 * address, so d == n means no delimiter. */
	if (d == 0 || d == n || unsplittable(addr, n, delims))
		return 0;
	if (d + strlen(at) >= ADDR_MAX)
		return 0;
	memcpy(base, addr, d);
	strcpy(base + d, at);
	if (ext_r)
		*ext_r = d;
	return 1;
}

int delim_extend(const char *target, const char *addr, size_t ext, char *out, size_t out_size)
{
	const char *tat = strrchr(target, '@'), *aat = strrchr(addr, '@');
	size_t tl, el;

	if (tat == NULL || aat == NULL || (size_t)(aat - addr) < ext)
		return -1;
	tl = (size_t)(tat - target);
	el = (size_t)(aat - addr) - ext;
	if (tl + el + strlen(tat) >= out_size)
		return -1;
	memcpy(out, target, tl);
	memcpy(out + tl, addr + ext, el);
	strcpy(out + tl + el, tat);
	return 0;
}

int delim_is(const char *addr, const char *mailbox, const char *delims)
{
	char base[ADDR_MAX];

	return strcmp(addr, mailbox) == 0 ||
	       (delim_split(addr, delims, base, NULL) && strcmp(base, mailbox) == 0);
}

int delim_dir_lookup(struct store *s, const char *delims, const char *addr, struct dir_entry *r)
{
	char base[ADDR_MAX];
	int rc = store_dir_lookup(s, addr, r);

	if (rc != STORE_NOTFOUND || !delim_split(addr, delims, base, NULL))
		return rc;
	return store_dir_lookup(s, base, r);
}
