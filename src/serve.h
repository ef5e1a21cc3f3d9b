/*
 * serve — the "demux serve" daemon: wires config, store, Podman, proxy, app
 * profiles and one pool per [pool NAME] behind the HTTP server, and takes
 * them down in order on SIGTERM/SIGINT. The command itself is cmd_serve
 * (commands.h); what is shared with the CLI is declared here.
 */
#ifndef DEMUX_SERVE_H
#define DEMUX_SERVE_H

#include <stddef.h>

#include "config.h"

#define SERVE_TOKEN_MIN 16
#define SERVE_TOKEN_MAX 256

/*
 * The admin token: [server] admin_token, else the first line of
 * admin_token_file (trailing white space removed). 0, or -1 with a reason in
 * err (missing, unreadable, shorter than SERVE_TOKEN_MIN). Never logs it.
 */
int serve_admin_token(const struct config *cfg, char *out, size_t outlen, char *err, size_t errlen);

#endif
