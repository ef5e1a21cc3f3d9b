/*
 * proxy — picks the route manager backend named by [proxy] backend. The
 * backends do not call back into this file: the checks they share are in
 * route_check.c, and "demux proxy" is proxy_cmd.c.
 */
#include "proxy/proxy.h"

#include <stdio.h>

#include "config.h"
#include "proxy/caddy.h"
#include "proxy/haproxy.h"

int
proxy_open(struct proxy *p, const struct config *cfg, char *err, size_t errlen)
{
	p->ops = NULL;
	p->ctx = NULL;
	switch (cfg->proxy_backend) {
	case PROXY_CADDY:
		return caddy_open(p, cfg, err, errlen);
	case PROXY_HAPROXY:
		return haproxy_open(p, cfg, NULL, err, errlen);
	}
	snprintf(err, errlen, "unknown proxy backend %d", (int)cfg->proxy_backend);
	return -1;
}

void
proxy_close(struct proxy *p)
{
	if (p->ops != NULL && p->ctx != NULL)
		p->ops->close(p->ctx);
	p->ops = NULL;
	p->ctx = NULL;
}
