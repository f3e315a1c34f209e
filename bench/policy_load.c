/*
 * policy_load - load generator for bench/policyd: CLIENTS threads, each
 * with one persistent connection, send requests back to back for SECONDS
 * and time every answer.
 *
 *   policy_load [-m policy|socketmap] [-c CLIENTS] [-d SECONDS] [-n MAP]
 *               -a ADDRESSES_FILE unix:PATH|HOST:PORT
 *
 * policy mode sends 20-attribute RCPT requests (Postfix's own names),
 * socketmap mode "MAP ADDRESS" netstrings; addresses come from the file,
 * one a line, in turn. Prints one line:
 *   clients=N requests=N seconds=S req_s=N p50_ms=X p99_ms=X errors=N
 * Written in C so that the client is not what is measured.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BUCKET_US 10
#define NBUCKETS 100000 /* 1 s in 10 us buckets; slower goes in the last */

static const char *target;
static int socketmap_mode, nclients = 1;
static double seconds = 5;
static const char *map_name = "virtual";
static char **addrs;
static size_t naddrs;
static volatile int stop;

struct client {
	pthread_t tid;
	int id;
	unsigned long long requests, errors;
	unsigned *hist;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_target(void)
{
	int fd;

	if (strncmp(target, "unix:", 5) == 0) {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", target + 5);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			perror(target);
			exit(1);
		}
		return fd;
	}
	char host[256], *colon;
	struct addrinfo hints, *res;
	int one = 1;

	snprintf(host, sizeof(host), "%s", strncmp(target, "inet:", 5) == 0 ? target + 5 : target);
	if ((colon = strrchr(host, ':')) == NULL) {
		fprintf(stderr, "policy_load: bad target %s\n", target);
		exit(2);
	}
	*colon = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0) {
		fprintf(stderr, "policy_load: cannot resolve %s\n", target);
		exit(1);
	}
	fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		perror(target);
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	freeaddrinfo(res);
	return fd;
}

static size_t make_request(char *buf, size_t size, const char *rcpt, unsigned long long n)
{
	if (socketmap_mode) {
		char body[1024];
		int bl = snprintf(body, sizeof(body), "%s %s", map_name, rcpt);

		return (size_t)snprintf(buf, size, "%d:%s,", bl, body);
	}
	/* The attributes Postfix 3.7 sends at RCPT, twenty of them. */
	return (size_t)snprintf(
		buf, size,
		"request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
		"helo_name=client.example.net\nqueue_id=\nsender=sender%llu@example.net\n"
		"recipient=%s\nrecipient_count=0\nclient_address=192.0.2.%llu\n"
		"client_name=client.example.net\nreverse_client_name=client.example.net\n"
		"instance=1a2b.%llx\nsasl_method=\nsasl_username=\nsasl_sender=\nsize=0\n"
		"ccert_subject=\nccert_issuer=\nencryption_protocol=TLSv1.3\n"
		"encryption_cipher=TLS_AES_256_GCM_SHA384\n\n",
		n % 1000, rcpt, 1 + n % 250, n);
}

/* complete: the answer in BUF (LEN) is whole. */
static int complete(const char *buf, size_t len)
{
	if (!socketmap_mode)
		return len >= 2 && buf[len - 1] == '\n' && buf[len - 2] == '\n';
	const char *colon = memchr(buf, ':', len);

	if (colon == NULL)
		return 0;
	return len >= (size_t)(colon - buf) + 1 + strtoul(buf, NULL, 10) + 1;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	int fd = connect_target();
	char req[2048], ans[4096];
	unsigned long long n = (unsigned long long)c->id * 7919;

	while (!stop) {
		size_t rl = make_request(req, sizeof(req), addrs[n % naddrs], n), got = 0;
		double t0 = now_s();
		ssize_t k;

		n++;
		if (write(fd, req, rl) != (ssize_t)rl) {
			c->errors++;
			break;
		}
		do {
			k = read(fd, ans + got, sizeof(ans) - 1 - got);
			if (k <= 0)
				break;
			got += (size_t)k;
		} while (!complete(ans, got));
		if (k <= 0) {
			c->errors++;
			break;
		}
		size_t us = (size_t)((now_s() - t0) * 1e6);

		c->hist[us / BUCKET_US < NBUCKETS ? us / BUCKET_US : NBUCKETS - 1]++;
		c->requests++;
	}
	close(fd);
	return NULL;
}

static void load_addrs(const char *path)
{
	FILE *fp = fopen(path, "r");
	char line[1024];
	size_t cap = 0;

	if (fp == NULL) {
		perror(path);
		exit(1);
	}
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (*line == '\0')
			continue;
		if (naddrs == cap) {
			cap = cap ? cap * 2 : 1024;
			addrs = realloc(addrs, cap * sizeof(*addrs));
			if (addrs == NULL)
				abort();
		}
		addrs[naddrs++] = strdup(line);
	}
	fclose(fp);
	if (naddrs == 0) {
		fprintf(stderr, "policy_load: no addresses in %s\n", path);
		exit(1);
	}
}

static double percentile(const unsigned *hist, unsigned long long total, double p)
{
	unsigned long long want = (unsigned long long)((double)total * p), seen = 0;

	for (size_t i = 0; i < NBUCKETS; i++) {
		seen += hist[i];
		if (seen > want)
			return (double)(i + 1) * BUCKET_US / 1000.0;
	}
	return (double)NBUCKETS * BUCKET_US / 1000.0;
}

int main(int argc, char **argv)
{
	const char *addr_file = NULL;
	struct client *cl;
	unsigned *hist;
	unsigned long long total = 0, errors = 0;
	double t0, dt;
	int opt;

	while ((opt = getopt(argc, argv, "m:c:d:n:a:")) != -1) {
		switch (opt) {
		case 'm':
			socketmap_mode = strcmp(optarg, "socketmap") == 0;
			break;
		case 'c':
			nclients = atoi(optarg);
			break;
		case 'd':
			seconds = atof(optarg);
			break;
		case 'n':
			map_name = optarg;
			break;
		case 'a':
			addr_file = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || addr_file == NULL || nclients < 1)
		goto usage;
	target = argv[optind];
	load_addrs(addr_file);
	cl = calloc((size_t)nclients, sizeof(*cl));
	hist = calloc(NBUCKETS, sizeof(*hist));
	t0 = now_s();
	for (int i = 0; i < nclients; i++) {
		cl[i].id = i;
		cl[i].hist = calloc(NBUCKETS, sizeof(*cl[i].hist));
		pthread_create(&cl[i].tid, NULL, client_main, &cl[i]);
	}
	while (now_s() - t0 < seconds)
		usleep(20000);
	stop = 1;
	dt = now_s() - t0;
	for (int i = 0; i < nclients; i++) {
		pthread_join(cl[i].tid, NULL);
		total += cl[i].requests;
		errors += cl[i].errors;
		for (size_t b = 0; b < NBUCKETS; b++)
			hist[b] += cl[i].hist[b];
		free(cl[i].hist);
	}
	printf("clients=%d requests=%llu seconds=%.2f req_s=%.0f p50_ms=%.2f p99_ms=%.2f "
	       "errors=%llu\n",
	       nclients, total, dt, (double)total / dt, percentile(hist, total, 0.50),
	       percentile(hist, total, 0.99), errors);
	free(hist);
	free(cl);
	for (size_t i = 0; i < naddrs; i++)
		free(addrs[i]);
	free(addrs);
	return errors ? 1 : 0;
usage:
	fprintf(stderr, "usage: policy_load [-m policy|socketmap] [-c CLIENTS] [-d SECONDS] "
			"[-n MAP] -a ADDRESSES_FILE unix:PATH|HOST:PORT\n");
	return 2;
}
