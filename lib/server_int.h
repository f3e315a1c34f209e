/*
 * server_int - what server.c (start) and server_loop.c (the loop) share.
 * Not for programs: they use server.h.
 *
 * server_new() makes the server of one run: it takes a reference to CFG
 * (kept until server_free()) and makes it server_config(). No loop is
 * made until server_loop() is called: the milter (libmilter's loop) and
 * the one-shot modes never make one.
 */
#ifndef FEDMIG_SERVER_INT_H
#define FEDMIG_SERVER_INT_H

#include "server.h"

struct server *server_new(const struct server_ops *ops, struct config *cfg);
void server_free(struct server **srv);

#endif
