/*
 * ws_probe - the functional test after a profile switch (E31): can the
 * desktop reach the new servers with the new settings? IMAP: connect
 * (TLS as imap_socket says, the certificate verified), CAPABILITY, and
 * with a password LOGIN and EXAMINE INBOX; SMTP (when a host is given):
 * EHLO, STARTTLS or TLS as smtp_socket says, and AUTH advertised.
 *
 * Contract. Written on libcurl (the agent's TLS stack already: the same
 * certificate checks as the API client, no protocol code of our own).
 * CA_FILE (NULL or "": the system's CAs only) is trusted besides the
 * system's. PASSWORD NULL: no login is tried (Thunderbird keeps its
 * passwords in logins.json, keyed by the old host: the agent has none
 * unless the admin gives one). Returns 0 when everything answered, else
 * -1 with *why_r (caller frees): one line for the admin, the step that
 * failed and libcurl's reason. Never logs the password.
 */
#ifndef FEDMIG_AGENT_WS_PROBE_H
#define FEDMIG_AGENT_WS_PROBE_H

struct ws_probe {
	const char *imap_host, *smtp_host; /* smtp_host "": no SMTP test */
	int imap_port, imap_socket, smtp_port, smtp_socket; /* 0 plain, 2 starttls, 3 ssl */
	const char *user, *password, *ca_file;
	long timeout_s;
};

int ws_probe_run(const struct ws_probe *p, char **why_r);

#endif
