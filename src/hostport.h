/*
 * hostport — splits "HOST:PORT" the one way demux reads it.
 *
 * Listen addresses ([server] listen, [proxy] listen), upstreams, a site's
 * domain with a port, and a request's Host header all name a host and a port.
 * The port is the text after the last ':' (so an unbracketed IPv6 host keeps
 * its colons); "[ADDRESS]:PORT" is also read, without the brackets.
 */
#ifndef DEMUX_HOSTPORT_H
#define DEMUX_HOSTPORT_H

#include <stddef.h>

/* Splits s into host (NUL-terminated, may be "") and *port. The port must be
 * 1-5 decimal digits worth 0-65535, nothing else. 0, or -1 with the reason in
 * err (host and *port then untouched). A host that does not fit in hostlen
 * is an error, never cut short. */
int hostport_split(const char *s, char *host, size_t hostlen, int *port, char *err, size_t errlen);

#endif
