/* libFuzzer: the exec directory driver's record parser (list and
 * contacts) and the checks of dirrec.h, on any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dirrec.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config *cfg;
	char why[DRV_WHY], *err = NULL;
	struct dir_listing l;
	struct dir_contact *c;
	size_t n;

	if (cfg == NULL) {
		log_set_verbose(0);
		cfg = config_parse("systems = s1\ns1_domain = s1.example.org\ns1_driver = none\n"
				   "federated_domains = example.org other.example\n",
				   "fuzz.conf", &err);
		if (cfg == NULL)
			abort();
	}
	if (dirrec_parse_list(cfg, "s1", (const char *)data, size, &l, why) == DRV_OK) {
		for (size_t i = 0; i < l.nacc; i++)
			if (strchr(l.acc[i].aliases, '\t') || strchr(l.acc[i].name, '\n'))
				abort();
		dir_listing_free(&l);
	} else if (l.nacc != 0) {
		abort();
	}
	if (dirrec_parse_contacts(cfg, "s1", (const char *)data, size, &c, &n, why) == DRV_OK)
		dir_contacts_free(c, n);
	return 0;
}
