/*
 * filter - fedmig-milter's libmilter callbacks.
 *
 * Per connection a struct conn (made at negotiation), per transaction a
 * struct msg (made at MAIL FROM); one cleanup function serves end of
 * message, abort and close, and close is safe with no context at all.
 * Only MAIL, RCPT and end of message are asked for; MAIL and RCPT get no
 * reply when the MTA allows it (Postfix does), which saves two round trips
 * per message: a failure there is remembered and answered at end of
 * message with a tempfail.
 *
 * Contract: filter_init() takes what the callbacks need from CFG (the
 * database path, the busy timeout, address folding, -v) before
 * smfi_register(FILTER_DESC); filter_shutdown() frees it after smfi_main()
 * has returned.
 */
#ifndef FEDMIG_MILTER_FILTER_H
#define FEDMIG_MILTER_FILTER_H

#include <libmilter/mfapi.h>

#include "config.h"

extern struct smfiDesc filter_desc;

void filter_init(const struct config *cfg, int verbose);
void filter_shutdown(void);

#endif
