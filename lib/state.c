#include <stdlib.h>
#include <string.h>

#include "state.h"

#define FIN (STATE_FINAL | STATE_SETTLED)

/* The one place that says which set a state is in (state.h). */
static const struct {
	int state;
	const char *name;
	int sets;
} names[] = {
	{ST_REGISTERED, "registered", 0},
	{ST_TARGET_CREATED, "target-created", 0},
	{ST_CHECKED, "checked", 0},
	{ST_RECHECKED, "rechecked", 0},
	{ST_ADDRESS_FORMED, "address-formed", 0},
	{ST_HELD, "held", 0},
	{ST_SWITCHED, "switched", 0},
	{ST_COPYING, "copying", 0},
	{ST_COPIED, "copied", 0},
	{ST_LOCAL_DONE, "local-done", 0},
	{ST_COMPLETE, "complete", STATE_SETTLED},
	{ST_SOURCE_DELETED, "source-deleted", FIN},
	{ST_CHECK_FAILED, "check-failed", STATE_OFFLINE},
	{ST_SYNC_MISMATCH, "sync-mismatch", STATE_OFFLINE},
	{ST_FAILED, "failed", STATE_OFFLINE},
	{ST_CANCELLED, "cancelled", FIN},
	{ST_ROLLED_BACK, "rolled-back", FIN},
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

const char *state_name(int state)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (names[i].state == state)
			return names[i].name;
	return "unknown";
}

int state_parse(const char *s)
{
	char *end;
	long n;

	for (size_t i = 0; i < NNAMES; i++)
		if (strcmp(names[i].name, s) == 0)
			return names[i].state;
	if (*s == '\0')
		return -1;
	n = strtol(s, &end, 10);
	if (*end != '\0' || n < 0 || n > 1000)
		return -1;
	for (size_t i = 0; i < NNAMES; i++)
		if (names[i].state == n)
			return (int)n;
	return -1;
}

int state_in(int state, int sets)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (names[i].state == state)
			return sets != 0 && (names[i].sets & sets) == sets;
	return 0;
}

long long state_mask(int sets)
{
	long long m = 0;

	for (size_t i = 0; i < NNAMES; i++)
		if (sets != 0 && (names[i].sets & sets) == sets)
			m |= 1LL << names[i].state;
	return m;
}

int state_is_final(int state)
{
	return state_in(state, STATE_FINAL);
}

int state_is_offline(int state)
{
	return state_in(state, STATE_OFFLINE);
}

void state_each(void (*fn)(void *ctx, int state), void *ctx)
{
	for (size_t i = 0; i < NNAMES; i++)
		fn(ctx, names[i].state);
}
