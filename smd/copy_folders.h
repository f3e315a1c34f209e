/*
 * copy_folders - which folders there are and where they go.
 *
 * list_both() lists folders and subscriptions of both sides in one round
 * trip; map_folders() gives every source folder its target name (INBOX
 * stays INBOX, a special-use folder goes to the target's folder of the
 * same use, otherwise the name with the hierarchy separator translated;
 * two folders mapping to one name fail); setup_target() creates the
 * missing folders and subscribes what the source subscribes. Each returns
 * 0 or -1 with the reason in cp->err.
 */
#ifndef FEDMIG_SMD_COPY_FOLDERS_H
#define FEDMIG_SMD_COPY_FOLDERS_H

#include "copy_int.h"

/*
 * list_both: folders and subscriptions of both sides into cp and
 * *SRC_SUBS (caller frees each and the array); *messages_r, *bytes_r:
 * the source's message count and size (LIST-STATUS, STATUS=SIZE) or -1.
 */
int list_both(struct cp *cp, char ***src_subs, size_t *nsrc_subs, long long *messages_r,
	      long long *bytes_r);
int map_folders(struct cp *cp);
int setup_target(struct cp *cp, char **subs, size_t nsubs);
/*
 * verify_folders: list the target again once every folder is copied:
 * each selectable source folder must exist there and each source
 * subscription (SUBS) be subscribed. 0 when so, 1 when not (each
 * difference logged and added to the reason), -1 on an error (cp->err).
 */
int verify_folders(struct cp *cp, char **subs, size_t nsubs);
/* dst_has: the target has the selectable folder NAME (as listed by list_both). */
int dst_has(const struct cp *cp, const char *name);
/* sub_dst: the target name of the source subscription NAME into *D_R (caller frees). */
int sub_dst(struct cp *cp, const char *name, char **d_r);
/* cmp_folder: qsort order: INBOX first, then by name (parents before children). */
int cmp_folder(const void *a, const void *b);

#endif
