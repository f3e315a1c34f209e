/*
 * fake_imap_tree - the fake server's folder-tree and move commands:
 * RENAME (children go along, subscriptions too, UIDVALIDITY kept, as
 * Dovecot does), DELETE (NO while the folder has children), UNSUBSCRIBE,
 * UID MOVE (RFC 6851, offered when model->move) and UID COPY. Test code
 * renames and moves with fake_folder_rename and fake_msg_move.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake_imap_int.h"

/* under: NAME is PARENT or below it ("/" the separator). */
static int under(const char *name, const char *parent)
{
	size_t n = strlen(parent);

	return strncmp(name, parent, n) == 0 && (name[n] == '\0' || name[n] == '/');
}

int fake_folder_rename(struct fake_model *m, const char *from, const char *to)
{
	size_t fl = strlen(from);

	if (fake_folder_find(m, from) == NULL || fake_folder_find(m, to) != NULL)
		return -1;
	for (size_t i = 0; i < m->nf; i++) {
		char *n = m->f[i].name;

		if (!under(n, from))
			continue;
		size_t len = strlen(to) + strlen(n + fl) + 1;

		m->f[i].name = malloc(len);
		if (m->f[i].name == NULL)
			abort();
		snprintf(m->f[i].name, len, "%s%s", to, n + fl);
		free(n);
	}
	return 0;
}

static int has_children(const struct fake_model *m, const char *name)
{
	for (size_t i = 0; i < m->nf; i++)
		if (strcmp(m->f[i].name, name) != 0 && under(m->f[i].name, name))
			return 1;
	return 0;
}

void fake_folder_delete(struct fake_model *m, struct fake_folder *f)
{
	while (f->n)
		fake_msg_expunge(f, f->m[0].uid);
	free(f->m);
	free(f->gone);
	free(f->name);
	*f = m->f[--m->nf];
}

void fake_msg_move(struct fake_folder *from, unsigned uid, struct fake_folder *to)
{
	for (size_t i = 0; i < from->n; i++)
		if (from->m[i].uid == uid) {
			struct fake_msg *m = &from->m[i];

			fake_msg_add(to, m->body, m->len, m->flags, m->date);
			fake_msg_expunge(from, uid);
			return;
		}
	abort();
}

/* uid_move: UID MOVE|COPY SET NAME in the selected folder. */
static void uid_move(struct conn *c, const char *tag, const char *args, int move)
{
	struct fake_folder *f = c->sel, *to;
	char set[256], name[256];
	const char *sp = strchr(args, ' ');

	if (f == NULL || sp == NULL || (size_t)(sp - args) >= sizeof(set)) {
		say(c, "%s BAD not selected or no set\r\n", tag);
		return;
	}
	memcpy(set, args, (size_t)(sp - args));
	set[sp - args] = '\0';
	sp++;
	if (astring(&sp, name, sizeof(name)) < 0 || (to = fake_folder_find(c->s->m, name)) == NULL) {
		say(c, "%s NO [TRYCREATE] no such folder\r\n", tag);
		return;
	}
	f = c->sel; /* fake_folder_find does not move folders: still valid */
	unsigned max = f->n ? f->m[f->n - 1].uid : 0;

	for (size_t i = f->n; i-- > 0;) {
		struct fake_msg *m = &f->m[i];

		if (!in_set(set, m->uid, max))
			continue;
		if (move)
			fake_msg_move(f, m->uid, to);
		else
			fake_msg_add(to, m->body, m->len, m->flags, m->date);
	}
	say(c, "%s OK %s done\r\n", tag, move ? "MOVE" : "COPY");
}

int tree_command(struct conn *c, const char *tag, const char *verb, const char *args)
{
	struct fake_model *m = c->s->m;
	char a[256], b[256];
	struct fake_folder *f;

	if (strcasecmp(verb, "UID") == 0 && strncasecmp(args, "MOVE ", 5) == 0 && m->move)
		uid_move(c, tag, args + 5, 1);
	else if (strcasecmp(verb, "UID") == 0 && strncasecmp(args, "COPY ", 5) == 0)
		uid_move(c, tag, args + 5, 0);
	else if (strcasecmp(verb, "RENAME") == 0) {
		if (astring(&args, a, sizeof(a)) < 0 || *args++ != ' ' || astring(&args, b, sizeof(b)) < 0)
			say(c, "%s BAD names\r\n", tag);
		else if (fake_folder_rename(m, a, b) < 0)
			say(c, "%s NO cannot rename\r\n", tag);
		else
			say(c, "%s OK renamed\r\n", tag);
		c->sel = NULL;
	} else if (strcasecmp(verb, "DELETE") == 0) {
		if (astring(&args, a, sizeof(a)) < 0 || (f = fake_folder_find(m, a)) == NULL)
			say(c, "%s NO no such folder\r\n", tag);
		else if (has_children(m, a))
			say(c, "%s NO has children\r\n", tag);
		else {
			fake_folder_delete(m, f);
			say(c, "%s OK deleted\r\n", tag);
		}
		c->sel = NULL;
	} else if (strcasecmp(verb, "UNSUBSCRIBE") == 0) {
		f = astring(&args, a, sizeof(a)) < 0 ? NULL : fake_folder_find(m, a);
		if (f)
			f->subscribed = 0;
		say(c, f ? "%s OK unsubscribed\r\n" : "%s NO not subscribed\r\n", tag);
	} else
		return 0;
	return 1;
}
