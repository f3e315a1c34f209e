/*
 * qid - the syntax of a Postfix queue ID, the one check for every place a
 * queue ID arrives from outside (the milter's {i} macro, postqueue -j,
 * the root helper's argument lines) before it reaches a log, the
 * database or postsuper's command line.
 *
 * Postfix makes two forms (src/global/mail_queue.h, MQID_*):
 *
 *   short (the default): the time's microseconds in exactly five
 *     upper-case hex digits (MQID_SH_USEC_PAD), then the inode number in
 *     upper-case hex: 6 or more of [0-9A-F];
 *   long (enable_long_queue_ids = yes): the time in seconds (6 or more,
 *     MQID_LG_SEC_PAD) and microseconds (exactly 4, MQID_LG_USEC_PAD) in
 *     base 52, the separator 'z' (MQID_LG_INUM_SEP), then the inode
 *     number in base 51 (no 'z'), all in the vowel-free alphabet
 *     [0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]: the last 'z' has 10 or more
 *     characters before it (MQID_FIND_LG_INUM_SEPARATOR) and one or more
 *     after it.
 *
 * Length: Postfix's own mail_queue_id_ok() takes up to 255 characters,
 * but its encoders never make more than 29 (64-bit seconds and inode in
 * base 52/51: 12 + 4 + 1 + 12; short: 5 + 16); QID_MAX_LEN leaves room
 * and fits every buffer that holds one (64 bytes).
 *
 * Contract: qid_valid() is 1 for an ID in either form, at most
 * QID_MAX_LEN bytes, else 0 (NULL included). It reads at most
 * QID_MAX_LEN + 1 bytes of QID.
 */
#ifndef FEDMIG_QID_H
#define FEDMIG_QID_H

#define QID_MAX_LEN 32

int qid_valid(const char *qid);

#endif
