/*
 * enrol - the token's enrolment and its file (enrol.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enrol.h"
#include "http.h"
#include "log.h"
#include "secrets.h"
#include "xalloc.h"

int enrol_code_ok(const char *code)
{
	size_t n = strlen(code);

	return n >= 8 && n <= 64 && strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == n;
}

/* read_code: the code from stdin (one line). */
static char *read_code(void)
{
	char buf[128];

	if (fgets(buf, sizeof(buf), stdin) == NULL)
		return NULL;
	buf[strcspn(buf, "\r\n")] = '\0';
	return xstrdup(buf);
}

/* write_token: TOKEN into a new PATH (0600), fsynced, with its directory. */
static int write_token(const char *path, const char *token, int force)
{
	char *line = xasprintf("%s\n", token), *dir = xstrdup(path);
	int fd, dfd, rc = -1;

	if (force && unlink(path) < 0 && errno != ENOENT)
		log_error("remove %s: %s", path, strerror(errno));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("create %s: %s%s", path, strerror(errno),
			  errno == EEXIST ? " (this agent is enrolled already: --force replaces it)"
					  : "");
	} else if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) || fsync(fd) < 0) {
		log_error("write %s: %s", path, strerror(errno));
	} else {
		rc = 0;
	}
	if (fd >= 0)
		close(fd);
	if (rc == 0 && (dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	explicit_bzero(line, strlen(line));
	free(line);
	free(dir);
	return rc;
}

/* exchange: CODE for the agent's name and token. */
static int exchange(const struct config *cfg, const char *code, struct ap_enrol *e)
{
	char *err = NULL, *body;
	struct ah_reply r;
	struct ah *h = ah_new(config_str(cfg, "agent_server_url"), config_str(cfg, "agent_ca_file"),
			      NULL, &err);
	int rc;

	if (h == NULL) {
		log_error("%s", err);
		free(err);
		return 1;
	}
	body = xasprintf("{\"code\":\"%s\"}", code);
	rc = ah_post(h, "/v1/enrol", body, 60, 3, &r);
	free(body);
	if (rc == AH_OK && ap_parse_enrol(r.body, r.len, e, &err) < 0) {
		log_error("the server's enrolment answer: %s", err);
		free(err);
		rc = AH_ERROR;
	}
	if (r.status == 403 && r.error.code == AP_ERR_ENROL)
		log_error("enrolment refused: %s", r.error.message);
	ah_free(&h);
	return rc == AH_OK ? 0 : rc == AH_FATAL || r.status == 403 ? 2 : 1;
}

int enrol_run(const struct config *cfg, const char *code_arg, int force)
{
	char *code = strcmp(code_arg, "-") == 0 ? read_code() : xstrdup(code_arg);
	struct ap_enrol e;
	int rc;

	if (code == NULL || !enrol_code_ok(code)) {
		log_error("the enrolment code is not one fedmigctl agent add printed");
		free(code);
		return 1;
	}
	rc = exchange(cfg, code, &e);
	secrets_wipe(&code);
	if (rc != 0)
		return rc;
	rc = write_token(config_str(cfg, "agent_token_file"), e.token, force);
	explicit_bzero(e.token, sizeof(e.token));
	if (rc < 0)
		return 1;
	log_info("enrolled as agent %s; token in %s", e.agent, config_str(cfg, "agent_token_file"));
	printf("%s\n", e.agent);
	return fflush(stdout) == 0 ? 0 : 1;
}

char *enrol_read_token(const char *path, char **err_r)
{
	char *buf;
	size_t len;

	if (secrets_read(path, &buf, &len, err_r) < 0)
		return NULL;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (len != AP_TOKEN_LEN || strspn(buf, "0123456789abcdef") != AP_TOKEN_LEN) {
		*err_r = xasprintf("%s: not a token (64 hex digits): enrol again with --enrol", path);
		secrets_free(buf, len);
		return NULL;
	}
	return buf;
}
