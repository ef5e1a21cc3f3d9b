/*
 * activity — whether a visitor still uses a demo, from the TCP segments its
 * container has received.
 *
 * A demo's traffic goes from the reverse proxy straight to the container's
 * published port, never through demux, so demux cannot count requests. The
 * kernel counts them per network namespace: /proc/<pid>/net/snmp of any
 * process in the container has the namespace's TCP counters. InSegs (TCP
 * segments received) stays still while nobody uses the demo; interface byte
 * counts (/proc/<pid>/net/dev) do not: the bridge's IPv6 and ARP chatter
 * reached an idle container's eth0 every few seconds (420 bytes in 40 s on
 * the development machine).
 */
#ifndef DEMUX_ACTIVITY_H
#define DEMUX_ACTIVITY_H

#include <stddef.h>

/* InSegs of the "Tcp:" lines of a /proc/<pid>/net/snmp text. 0, or -1 when
 * the text has no such counter. */
int activity_parse_snmp(const char *text, long long *in_segs);
/* Reads /proc/<pid>/net/snmp. 0, or -1 with a reason (the process is gone). */
int activity_tcp_segments(int pid, long long *in_segs, char *err, size_t errlen);

#endif
