#include <stdlib.h>
#include <string.h>

#include "state.h"

static const struct {
	int state;
	const char *name;
} names[] = {
	{ST_REGISTERED, "registered"},
	{ST_TARGET_CREATED, "target-created"},
	{ST_CHECKED, "checked"},
	{ST_RECHECKED, "rechecked"},
	{ST_ADDRESS_FORMED, "address-formed"},
	{ST_HELD, "held"},
	{ST_SWITCHED, "switched"},
	{ST_COPYING, "copying"},
	{ST_COPIED, "copied"},
	{ST_LOCAL_DONE, "local-done"},
	{ST_COMPLETE, "complete"},
	{ST_SOURCE_DELETED, "source-deleted"},
	{ST_CHECK_FAILED, "check-failed"},
	{ST_SYNC_MISMATCH, "sync-mismatch"},
	{ST_FAILED, "failed"},
	{ST_CANCELLED, "cancelled"},
	{ST_ROLLED_BACK, "rolled-back"},
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

int state_is_final(int state)
{
	return state == ST_SOURCE_DELETED || state == ST_CANCELLED || state == ST_ROLLED_BACK;
}

int state_is_offline(int state)
{
	return state == ST_CHECK_FAILED || state == ST_SYNC_MISMATCH || state == ST_FAILED;
}

void state_each(void (*fn)(void *ctx, int state), void *ctx)
{
	for (size_t i = 0; i < NNAMES; i++)
		fn(ctx, names[i].state);
}
