/*
 * noop_milter - a libmilter filter that does nothing, for bench/fed: the
 * same-run reference of what any libmilter filter costs Postfix (BENCH.md
 * measured 0.88x of plain Postfix for one on a unix socket). It negotiates
 * away the same steps fedmig-milter does and answers CONTINUE at the end
 * of each message. Usage: noop_milter unix:/path
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <libmilter/mfapi.h>

static sfsistat noop_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
			       unsigned long f2, unsigned long f3, unsigned long *pf0,
			       unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	*pf0 = 0;
	*pf1 = f1 & (SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOBODY |
		     SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_MAIL | SMFIP_NR_RCPT);
	*pf2 = *pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat noop_envfrom(SMFICTX *ctx, char **argv)
{
	return SMFIS_CONTINUE;
}

static sfsistat noop_envrcpt(SMFICTX *ctx, char **argv)
{
	return SMFIS_CONTINUE;
}

static sfsistat noop_eom(SMFICTX *ctx)
{
	return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
	.xxfi_name = "noop",
	.xxfi_version = SMFI_VERSION,
	.xxfi_envfrom = noop_envfrom,
	.xxfi_envrcpt = noop_envrcpt,
	.xxfi_eom = noop_eom,
	.xxfi_negotiate = noop_negotiate,
};

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: noop_milter unix:/path\n");
		return 2;
	}
	umask(0);
	if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS)
		return 1;
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
