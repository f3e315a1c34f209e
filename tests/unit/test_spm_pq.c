/* What fedmig-spm reads from Postfix: postqueue -j lines (the milter's
 * status line: test_mstatus). Tables of hostile input, fed whole and one
 * byte at a time. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pq.h"
#include "ckmain.h"

/* want: "queue_name/queue_id:rcpt,rcpt" or "E:reason" */
static const struct {
	const char *name;
	const char *in;
	const char *want;
} msgs[] = {
	{"postfix 3.7",
	 "{\"queue_name\": \"hold\", \"queue_id\": \"4XyZ1k2bcdzQ\", \"arrival_time\": 1700000000, "
	 "\"message_size\": 512, \"forced_expire\": false, \"sender\": \"a@b\", \"recipients\": "
	 "[{\"address\": \"alice@s1.example.org\"}, {\"address\": \"Bob@S1.Example.org\", "
	 "\"delay_reason\": \"x\"}]}",
	 "hold/4XyZ1k2bcdzQ:alice@s1.example.org,bob@s1.example.org"},
	{"no recipients", "{\"queue_name\":\"active\",\"queue_id\":\"A10001\",\"recipients\":[]}",
	 "active/A10001:"},
	{"escapes", "{\"queue_name\":\"defer\\u0072ed\",\"queue_id\":\"A10001\",\"recipients\":"
		    "[{\"address\":\"a\\/b@x.org\"}]}",
	 "deferred/A10001:a/b@x.org"},
	{"nested junk", "{\"x\":[[[{\"y\":[1,2,{\"z\":null}]}]]],\"queue_name\":\"hold\","
			"\"queue_id\":\"B20002\",\"t\":true,\"n\":-1.5e3}",
	 "hold/B20002:"},
	{"missing id", "{\"queue_name\":\"hold\"}", "E:queue_name or queue_id missing"},
	{"bad id", "{\"queue_name\":\"hold\",\"queue_id\":\"../x\"}", "E:bad queue_id"},
	{"id with nul", "{\"queue_name\":\"hold\",\"queue_id\":\"A\\u0000\"}", "E:bad JSON"},
	{"not an object", "[1]", "E:object expected"},
	{"unterminated", "{\"queue_name\":\"hold", "E:bad JSON"},
	{"trailing", "{\"queue_name\":\"hold\",\"queue_id\":\"A\"} x", "E:bad JSON"},
	{"control char", "{\"queue_name\":\"ho\x01ld\",\"queue_id\":\"A\"}",
	 "E:bad JSON"},
	{"bad escape", "{\"queue_name\":\"\\q\",\"queue_id\":\"A\"}", "E:bad JSON"},
	{"deep", "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]],\"queue_name\":\"h\",\"queue_id\":\"A\"}",
	 "E:nested too deep"},
	{"unbalanced", "{\"a\":[[1],\"queue_name\":\"h\",\"queue_id\":\"A\"}", "E:bad JSON"},
	{"missing colon", "{\"queue_name\" \"hold\"}", "E:bad JSON"},
	{"empty", "", "E:bad JSON"},
	{"array", "[1]", "E:object expected"},
	{"recipient not object", "{\"queue_name\":\"hold\",\"queue_id\":\"A10001\",\"recipients\":[1]}",
	 "E:recipient object expected"},
};

static void render(const struct pq_msg *m, char *out, size_t size)
{
	size_t n = (size_t)snprintf(out, size, "%s/%s:", m->queue_name, m->queue_id);

	for (size_t i = 0; i < m->nrcpt && n < size; i++)
		n += (size_t)snprintf(out + n, size - n, "%s%s", i ? "," : "", m->rcpt[i]);
}

START_TEST(test_msg_table)
{
	struct pq_msg m = {0};
	const char *why = NULL;
	char got[2048];

	if (pq_parse_msg(msgs[_i].in, strlen(msgs[_i].in), &m, &why) == 0)
		render(&m, got, sizeof(got));
	else
		snprintf(got, sizeof(got), "E:%s", why);
	ck_assert_msg(strcmp(got, msgs[_i].want) == 0, "case %d (%s): got \"%s\", want \"%s\"", _i,
		      msgs[_i].name, got, msgs[_i].want);
	pq_msg_clear(&m);
}
END_TEST

/* A recipient one byte longer than the longest address must not be cut
 * into that address: the drain compares it with the physical one. */
START_TEST(test_msg_long_rcpt)
{
	char phys[ADDR_MAX], line[2 * ADDR_MAX + 200], got[2048];
	struct pq_msg m = {0};
	const char *why = NULL;
	size_t n = 0;

	memset(phys, 'a', 64);
	n = 64;
	phys[n++] = '@';
	for (int l = 0; l < 4; l++) {
		memset(phys + n, 'b', 63);
		n += 63;
		if (l < 3)
			phys[n++] = '.';
	}
	phys[n] = '\0';
	ck_assert_uint_eq(strlen(phys), ADDR_MAX - 1);
	snprintf(line, sizeof(line),
		 "{\"queue_name\":\"active\",\"queue_id\":\"A10001\",\"recipients\":"
		 "[{\"address\":\"%sc\"},{\"address\":\"%s\"}]}",
		 phys, phys);
	ck_assert_int_eq(pq_parse_msg(line, strlen(line), &m, &why), 0);
	ck_assert_uint_eq(m.nrcpt, 2);
	render(&m, got, sizeof(got));
	ck_assert_msg(strcmp(m.rcpt[0], phys) != 0, "cut into the physical address: %s", got);
	ck_assert_str_eq(m.rcpt[1], phys);
	pq_msg_clear(&m);
}
END_TEST

struct collect {
	char out[8192];
	size_t n;
};

static int collect(void *ctx, const struct pq_msg *m, int line, const char *why)
{
	struct collect *c = ctx;
	char one[2048];

	if (m)
		render(m, one, sizeof(one));
	else
		snprintf(one, sizeof(one), "E%d:%s", line, why);
	c->n += (size_t)snprintf(c->out + c->n, sizeof(c->out) - c->n, "%s;", one);
	return 0;
}

/* The same stream fed whole and one byte at a time gives the same result. */
START_TEST(test_reader_bytewise)
{
	const char *in = "{\"queue_name\":\"hold\",\"queue_id\":\"A10001\",\"recipients\":[{\"address\":"
			 "\"a@x.org\"}]}\n\n{bad}\n{\"queue_name\":\"active\",\"queue_id\":\"B20002\"}";
	const char *want = "hold/A10001:a@x.org;E3:bad JSON;active/B20002:;";
	struct collect whole = {{0}, 0}, bytes = {{0}, 0};
	struct pq_reader *r = pq_reader_new(collect, &whole);

	pq_feed(r, in, strlen(in));
	pq_finish(r);
	pq_reader_free(&r);
	ck_assert_str_eq(whole.out, want);
	r = pq_reader_new(collect, &bytes);
	for (size_t i = 0; in[i]; i++) {
		pq_feed(r, in + i, 1);
		/* Nothing is reported before its newline. */
		if (i < 60)
			ck_assert_uint_eq(bytes.n, 0);
	}
	pq_finish(r);
	pq_reader_free(&r);
	ck_assert_str_eq(bytes.out, want);
	ck_assert_ptr_null(r);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_LOOP(test_msg_table, msgs), CK_TEST(test_msg_long_rcpt),
		CK_TEST(test_reader_bytewise),
	};

	return ck_run(CK_SUITE("spm_pq", "parse", 0, tests));
}
