/* libFuzzer: the workstation's prefs.js parser and rewrite, and the
 * profiles.ini parser. Checks: every byte of the input is in exactly one
 * line; a rewrite that matches nothing gives the input back; a rewrite
 * rerun on its own output changes nothing (byte-identical). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws_prefs.h"
#include "ws_profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const old_hosts[] = {"mail.old.example", "pop.old.example", NULL};
static const char *const old_smtp[] = {"smtp.old.example", NULL};
static const char *const nowhere[] = {"nowhere.invalid", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct ws_switch sw = {old_hosts, old_smtp, NULL,
				     {"mail.new.example", 993, 3, "u@new.example"},
				     {"mail.new.example", 995, 3, NULL},
				     {"smtp.new.example", 587, 2, "u@new.example"}};
	struct ws_switch none = sw;
	struct ws_prefs p, q;
	struct ws_accounts a;
	struct ws_profiles l;
	char *out, *out2;
	size_t i, at = 0, len, len2, changed, changed2;

	ws_prefs_parse((const char *)data, size, &p);
	for (i = 0; i < p.n; i++) {
		if (p.v[i].off != at || (p.v[i].type != WSP_OTHER &&
					 p.v[i].voff + p.v[i].vlen > p.v[i].off + p.v[i].len))
			abort();
		at += p.v[i].len;
	}
	if (at != size)
		abort();
	ws_prefs_accounts(&p, &a);
	ws_accounts_free(&a);
	none.old_hosts = nowhere;
	none.old_smtp = NULL;
	ws_prefs_rewrite(&p, &none, &out, &len, &changed);
	if (changed != 0 || len != size || memcmp(out, data, size) != 0)
		abort();
	free(out);
	ws_prefs_rewrite(&p, &sw, &out, &len, &changed);
	ws_prefs_parse(out, len, &q);
	ws_prefs_rewrite(&q, &sw, &out2, &len2, &changed2);
	if (changed2 != 0 || len2 != len || memcmp(out, out2, len) != 0)
		abort();
	free(out2);
	ws_prefs_free(&q);
	free(out);
	ws_prefs_free(&p);
	ws_profiles_parse((const char *)data, size, "/home/u", &l, NULL);
	for (i = 0; i < l.n; i++)
		if (strstr(l.v[i].rel, "..") && strstr(l.v[i].rel, "/../"))
			abort();
	ws_profiles_free(&l);
	return 0;
}
