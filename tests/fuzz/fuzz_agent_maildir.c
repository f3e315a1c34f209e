/* libFuzzer: fedmig-agent's readers of Maildir files and names
 * (subscriptions, dovecot-keywords, message names, LF to CRLF). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maildir.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	struct md_names subs = {0};
	struct md_keywords kw = {0};
	char flags[256], *name, *out;
	size_t i, o;
	int cr = 0;

	md_parse_subscriptions(d, size, &subs);
	for (i = 0; i < subs.n; i++)
		if (!md_folder_ok(subs.v[i]) || strstr(subs.v[i], "..") || strchr(subs.v[i], '/'))
			abort();
	md_names_free(&subs);
	md_parse_keywords(d, size, &kw);
	name = xstrndup(d, size);
	md_flags(name, &kw, flags, sizeof(flags));
	if (strlen(flags) >= sizeof(flags))
		abort();
	md_keywords_free(&kw);
	free(name);
	out = xmalloc(2 * size + 1);
	o = md_crlf(d, size, out, &cr);
	if (o < size || o > 2 * size)
		abort();
	free(out);
	return 0;
}
