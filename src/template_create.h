/*
 * template_create — making a template: the work behind "demux template
 * create".
 *
 * It starts a template container from an image (the app and its own MariaDB),
 * waits until its health URL answers, fetches the warm pages, makes sure no
 * TCP connection is open inside it, checkpoints it into
 * <state_dir>/templates/<name>/checkpoint.tar[.zst] and saves template.json
 * next to it (template.h). The template container is removed; its labels and
 * resource limits live on in every restored copy. The template directory is
 * locked for the whole of it (template_dir_claim), and removed again when
 * the create fails.
 */
#ifndef DEMUX_TEMPLATE_CREATE_H
#define DEMUX_TEMPLATE_CREATE_H

#include <stddef.h>

#include "container/podman.h"
#include "template.h"

/*
 * Makes template opt->name from opt->image through Podman p. The app is
 * published on 127.0.0.1:host_port (0 = a free port); its health URL has
 * timeout_s to answer 2xx. SIGINT and SIGTERM interrupt it (their handlers
 * are replaced while it runs). Progress goes to stderr when that is a
 * terminal. On success out holds the saved metadata. 0, or -1 with a
 * one-line reason in err.
 */
int template_create(struct podman *p, const struct template_options *opt, const char *state_dir,
		    int host_port, int timeout_s, struct template_meta *out, char *err,
		    size_t errlen);

/* Counts TCP sockets in /proc/<pid>/net/tcp text that are connected and owned
 * by a process (not listening, not closed, inode != 0): CRIU cannot dump them
 * without --tcp-established. The first one is described in first. */
int template_count_tcp_connections(const char *proc_net_tcp, char *first, size_t firstlen);

#endif
