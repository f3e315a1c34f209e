/*
 * fedmigctl agent add|list|show|revoke: the agents that upload mailboxes
 * through fedmig-apid. A code is shown once and only its hash is stored;
 * a revoked agent's token is refused from then on and its leases go back
 * to the pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "addr.h"
#include "ctl.h"
#include "store_agent.h"
#include "store_buffer.h"
#include "store_ws.h"
#include "timeutil.h"
#include "xalloc.h"

static int cmd_add(struct ctl *ctl, int argc, char **argv);
static int cmd_list(struct ctl *ctl, int argc, char **argv);
static int cmd_show(struct ctl *ctl, int argc, char **argv);
static int cmd_revoke(struct ctl *ctl, int argc, char **argv);

const struct ctl_cmd ctl_agent_cmds[] = {
	{"agent add", "NAME [SYSTEM ...] | NAME --workstation ADDRESS",
	 "enrol a new fedmig-agent that may read SYSTEMs (default: all), or a workstation agent"
	 " for the user of ADDRESS: print its one-time code",
	 cmd_add},
	{"agent list", "", "the agents: state, version, last seen, health, tasks held", cmd_list},
	{"agent show", "NAME", "one agent in detail", cmd_show},
	{"agent revoke", "NAME", "refuse the agent's token from now on; release its tasks",
	 cmd_revoke},
	{NULL, NULL, NULL, NULL},
};

static const char *const state_names[] = {"code-issued", "enrolled", "revoked"};

static const char *agent_state(int st)
{
	return st >= 0 && st <= 2 ? state_names[st] : "unknown";
}

/* base32: 20 bytes as 32 characters of RFC 4648's alphabet, no padding. */
static void base32(const unsigned char in[20], char out[33])
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned buf = 0;
	int bits = 0, o = 0;

	for (int i = 0; i < 20; i++) {
		buf = (buf << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = abc[(buf >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	out[o] = '\0';
}

static int check_name(const char *name)
{
	if (agent_name_ok(name))
		return 0;
	fprintf(stderr, "fedmigctl: agent name \"%s\": 1-64 letters, digits, '-', '_' or '.'\n",
		name);
	return -1;
}

/*
 * agent_systems: the systems an agent may read, from the command line:
 * each must be a system of fedmig.conf whose NAME_access is agent; none
 * given: every such system (""). NULL, said why, when one is not.
 */
static char *agent_systems(struct ctl *ctl, int n, char **names)
{
	char *out = xstrdup(""), *next;

	for (int i = 0; i < n; i++) {
		if (!config_has_system(ctl->cfg, names[i]) ||
		    strcmp(config_sys_str(ctl->cfg, names[i], "access"), "agent") != 0) {
			fprintf(stderr,
				"fedmigctl: %s is not a system of $systems read by an agent"
				" (NAME_access = agent)\n",
				names[i]);
			free(out);
			return NULL;
		}
		next = xasprintf("%s%s%s", out, *out ? " " : "", names[i]);
		free(out);
		out = next;
	}
	return out;
}

/* ws_address: ADDRESS of --workstation, canonical, into OUT; -1 said why. */
static int ws_address(const char *in, char out[ADDR_MAX])
{
	const char *why = NULL;

	if (addr_normalize(in, strlen(in), 0, out, &why) == 0)
		return 0;
	fprintf(stderr, "fedmigctl: --workstation %s: not a mail address (%s)\n", in,
		why ? why : "bad syntax");
	return -1;
}

/* add_row: the agent's row with the code's HASH: a workstation agent's
 * when ADDRESS is set, else a server agent's reading SYSTEMS. */
static int add_row(struct ctl *ctl, const char *name, const unsigned char *hash,
		   const char *systems, const char *address)
{
	long long now = time_now_us() / 1000000;
	long long expires = now + config_time_ms(ctl->cfg, "apid_enrol_lifetime") / 1000;
	int rc = address ? store_ws_agent_add(ctl_store(ctl), name, hash, expires, now, address)
			 : store_agent_add(ctl_store(ctl), name, hash, expires, now, systems);

	if (rc == STORE_AGENT_EXISTS) {
		fprintf(stderr, "fedmigctl: agent %s exists already (revoke it and add another name)\n",
			name);
		return 1;
	}
	if (rc != STORE_OK) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl_store(ctl)));
		return 1;
	}
	return 0;
}

static int cmd_add(struct ctl *ctl, int argc, char **argv)
{
	unsigned char raw[20], hash[SHA256_DIGEST_LENGTH];
	char code[33], address[ADDR_MAX];
	int ws, rc;
	char *systems;

	if (argc < 1)
		return ctl_usage(&ctl_agent_cmds[0]);
	ws = argc >= 2 && strcmp(argv[1], "--workstation") == 0;
	if (ws && argc != 3)
		return ctl_usage(&ctl_agent_cmds[0]);
	if (check_name(argv[0]) < 0 || (ws && ws_address(argv[2], address) < 0))
		return 1;
	if ((systems = ws ? xstrdup("") : agent_systems(ctl, argc - 1, argv + 1)) == NULL)
		return 1;
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		free(systems);
		fprintf(stderr, "fedmigctl: no random bytes for a code\n");
		return 1;
	}
	base32(raw, code);
	SHA256((const unsigned char *)code, strlen(code), hash);
	rc = add_row(ctl, argv[0], hash, systems, ws ? address : NULL);
	free(systems);
	if (rc == 0)
		printf("%s\n", code);
	return rc;
}

static json_t *agent_json(const struct agent_row *r)
{
	return ctl_json_ok(json_pack("{s:s, s:s, s:o, s:i, s:o, s:I, s:I, s:I, s:I, s:s, s:s, s:s}",
				     "name",
				     r->name, "state", agent_state(r->state), "version",
				     ctl_json_string(r->version), "slots", r->slots, "health",
				     ctl_json_string(r->health), "created", (json_int_t)r->created,
				     "enrolled", (json_int_t)r->enrolled, "last_seen",
				     (json_int_t)r->last_seen, "tasks", (json_int_t)r->tasks,
				     "systems", r->systems, "kind",
				     r->workstation ? "workstation" : "server", "address", r->address));
}

static void when(long long s, char *buf, size_t len)
{
	char t[64];

	if (s == 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s", time_format_local(s * 1000000, t));
}

static int list_one(void *ctx, const struct agent_row *r)
{
	json_t *arr = ctx;
	char seen[64];

	if (arr) {
		json_array_append_new(arr, agent_json(r));
		return 0;
	}
	when(r->last_seen, seen, sizeof(seen));
	printf("%-20s %-11s %-8s %-20s %5lld  %-11s %s%s%s\n", r->name, agent_state(r->state),
	       *r->version ? r->version : "-", seen, r->tasks,
	       r->workstation ? "workstation" : "server", *r->health ? r->health : "-",
	       r->workstation ? " for " : "", r->address);
	return 0;
}

static int cmd_list(struct ctl *ctl, int argc, char **argv)
{
	json_t *arr = ctl->json ? ctl_json_ok(json_array()) : NULL;
	struct store *s;

	if (argc != 0)
		return ctl_usage(&ctl_agent_cmds[1]);
	s = ctl_store(ctl);
	if (!arr)
		printf("%-20s %-11s %-8s %-20s %5s  %-11s %s\n", "AGENT", "STATE", "VERSION",
		       "LAST SEEN", "TASKS", "KIND", "HEALTH");
	if (store_agent_each(s, time_now_us() / 1000, list_one, arr) < 0) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(s));
		json_decref(arr);
		return 1;
	}
	if (arr)
		ctl_json_put(stdout, json_pack("{s:o}", "agents", arr));
	return 0;
}

/* find: agent NAME into R, or print why not; the exit status. */
static int find(struct ctl *ctl, const char *name, struct agent_row *r)
{
	struct store *s = ctl_store(ctl);
	int rc;

	if (check_name(name) < 0)
		return 1;
	rc = store_agent_get(s, name, time_now_us() / 1000, r);
	if (rc == STORE_NOTFOUND)
		fprintf(stderr, "fedmigctl: no agent %s (fedmigctl agent list)\n", name);
	else if (rc != STORE_OK)
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(s));
	return rc == STORE_OK ? 0 : 1;
}

static int cmd_show(struct ctl *ctl, int argc, char **argv)
{
	struct agent_row r;
	char c[64], e[64], l[64], x[64];

	if (argc != 1)
		return ctl_usage(&ctl_agent_cmds[2]);
	if (find(ctl, argv[0], &r) != 0)
		return 1;
	if (ctl->json) {
		ctl_json_put(stdout, agent_json(&r));
		return 0;
	}
	when(r.created, c, sizeof(c));
	when(r.enrolled, e, sizeof(e));
	when(r.last_seen, l, sizeof(l));
	when(r.state == AGENT_CODE ? r.code_expires : 0, x, sizeof(x));
	printf("agent:     %s\nstate:     %s\nversion:   %s\ncreated:   %s\n", r.name,
	       agent_state(r.state), *r.version ? r.version : "-", c);
	if (r.state == AGENT_CODE)
		printf("code valid until: %s\n", x);
	printf("enrolled:  %s\nlast seen: %s\nhealth:    %s\nslots:     %d free\ntasks:     %lld"
	       " held\nsystems:   %s\n",
	       e, l, *r.health ? r.health : "-", r.slots, r.tasks,
	       *r.systems ? r.systems : "all read by an agent");
	if (r.workstation)
		printf("kind:      workstation\naddress:   %s\n", r.address);
	else
		printf("kind:      server\n");
	return 0;
}

static int cmd_revoke(struct ctl *ctl, int argc, char **argv)
{
	struct store *s;
	int rc;

	if (argc != 1)
		return ctl_usage(&ctl_agent_cmds[3]);
	if (check_name(argv[0]) < 0)
		return 1;
	s = ctl_store(ctl);
	rc = store_agent_revoke(s, argv[0]);
	if (rc == STORE_NOTFOUND) {
		fprintf(stderr, "fedmigctl: no agent %s (fedmigctl agent list)\n", argv[0]);
		return 1;
	}
	if (rc != STORE_OK) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(s));
		return 1;
	}
	printf("agent %s revoked: its token is refused, its tasks released\n", argv[0]);
	return 0;
}

static const char *const phase_names[] = {"new", "listing", "items", "done", "failed", "cancelled"};

static const char *phase_name(int phase)
{
	return phase >= 0 && phase <= PHASE_CANCELLED ? phase_names[phase] : "unknown";
}

int ctl_agent_line(struct store *s, long long req, char *buf, size_t len)
{
	/* The task and its buffer's counts in one read (lib/store_buffer.h). */
	struct buffer_task t;
	int rc = store_buffer_task_get(s, req, &t);

	if (rc == STORE_NOTFOUND)
		return -1;
	if (rc == STORE_ERR) {
		snprintf(buf, len, "agent:     unknown (%s)", store_errmsg(s));
		return 0;
	}
	/* The reason is the agent's words: made safe for a terminal. */
	char reason[1024];

	addr_show(t.reason, strlen(t.reason), reason, sizeof(reason));
	snprintf(buf, len,
		 "agent:     %s%s, phase %s, uploaded %lld messages %lld bytes, %lld bytes waiting"
		 " in the buffer, folders %lld/%lld done%s%s",
		 *t.agent ? t.agent : "none",
		 *t.agent && t.lease_until < time_now_us() / 1000 ? " (lease expired)" : "",
		 phase_name(t.phase), t.items, t.bytes, t.waiting_bytes, t.folders_done,
		 t.folders_total,
		 *t.reason ? ", reason: " : "", *t.reason ? reason : "");
	return 0;
}

json_t *ctl_agent_json(struct store *s, long long req)
{
	struct buffer_task t;

	if (store_buffer_task_get(s, req, &t) != STORE_OK)
		return NULL;
	return ctl_json_ok(json_pack("{s:o, s:s, s:I, s:I, s:I, s:I, s:I, s:o}", "agent",
				     ctl_json_string(t.agent), "phase", phase_name(t.phase),
				     "items", (json_int_t)t.items, "bytes", (json_int_t)t.bytes,
				     "buffered", (json_int_t)t.waiting_bytes, "folders_done",
				     (json_int_t)t.folders_done, "folders_total",
				     (json_int_t)t.folders_total, "reason",
				     ctl_json_string(t.reason)));
}
