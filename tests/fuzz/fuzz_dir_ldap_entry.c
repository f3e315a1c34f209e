/* libFuzzer: an LDAP entry's values (split from the input at 0xff bytes:
 * DN, entryUUID, mail, mail, alias, mailbox, name, cn) into a dir_account,
 * then the dirrec.h checks; and the DN and filter escapers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dirdrv_ldap.h"
#include "dirrec.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config *cfg;
	struct dirldap_val v[8] = {{"", 0}};
	struct dirldap_entry e;
	struct dir_account a;
	const char *why, *p = (const char *)data, *end = p + size;
	char buf[DRV_WHY], *err = NULL, *d, *f;

	if (cfg == NULL) {
		log_set_verbose(0);
		cfg = config_parse("systems = s1\ns1_domain = s1.example.org\ns1_driver = none\n"
				   "federated_domains = example.org\n", "fuzz.conf", &err);
		if (cfg == NULL)
			abort();
	}
	for (int i = 0; i < 8 && p <= end; i++) {
		const char *q = memchr(p, 0xff, (size_t)(end - p));

		v[i] = (struct dirldap_val){p, (size_t)((q ? q : end) - p)};
		p = (q ? q : end) + 1;
	}
	e = (struct dirldap_entry){.dn = v[0], .uuid = v[1], .mail = {&v[2], 2},
				   .alias = {&v[4], 1}, .mailbox = {&v[5], 1}, .name = {&v[6], 1},
				   .cn = {&v[7], 1}};
	if (dirldap_map(&e, &a, &why) == 0) {
		dirrec_account_fix(cfg, "s1", &a, buf);
		dir_account_clear(&a);
	}
	d = dirldap_dn_escape(v[0].p, v[0].len);
	f = dirldap_filter_escape(v[0].p, v[0].len);
	if (strchr(f, '*') || strchr(f, '(') || strchr(f, ')') || strlen(d) < v[0].len)
		abort();
	free(d);
	free(f);
	free(dirldap_parent(v[0].p, v[0].len));
	return 0;
}
