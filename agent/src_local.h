/*
 * src_local - the workstation's Thunderbird Local Folders as a source
 * (source.h) for the task of the reserved system "@local": list() gives
 * the Local Folders tree (ws_folders) with '/' as separator, each name
 * in modified UTF-7 as IMAP names folders, Thunderbird's first level
 * "Inbox" as INBOX ("INBOX", "INBOX/Projets &AOk-t&AOk-" for
 * "Inbox/Projets été"), a parent-only folder \Noselect and not
 * subscribed, every other one subscribed; items() gives a folder's
 * messages in file order (an mbox: by offset; Thunderbird's maildir
 * store: cur/ then new/, by name) after the cursor, each keyed by
 * ws_msg_key, with its Thunderbird flags, its date, and its bytes with
 * CRLF line ends as IMAP presents them.
 *
 * Contract. Read only. The cursor is the last message given: an mbox
 * "o<offset>", a maildir "c<name>" or "n<name>" (cur/, new/): the order
 * of the cursors is the order of the messages. A message Thunderbird
 * marked deleted (X-Mozilla-Status 0x8: hidden, waiting for compaction)
 * is not given: the cursor moves past it and it is counted in the log,
 * at the end of the folder. A maildir file whose name is not a key
 * (ws_msg_key) is skipped the same way. An mbox changed under the
 * reader (its bytes no longer those scanned) fails the batch: Thunderbird
 * is running or compacting; the guardian starts it again later.
 * src_local_open: the default profile's Local Folders below TB_DIR
 * (ws_home.h; NULL: this agent is not a workstation agent, refused);
 * test() fails, not permanently, while Thunderbird runs on the profile.
 * A profile without Local Folders lists no folder.
 */
#ifndef FEDMIG_AGENT_SRC_LOCAL_H
#define FEDMIG_AGENT_SRC_LOCAL_H

#include "source.h"

#define SRC_LOCAL_SYSTEM "@local"

struct source *src_local_open(const char *tb_dir, char **err_r);
/* src_local_new: over LF_FD (dup'ed), the open Local Folders directory
 * (-1: none); PROFILE_FD (dup'ed; -1: no running check) its profile. */
struct source *src_local_new(int lf_fd, int profile_fd);

#endif
