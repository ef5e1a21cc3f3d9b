/*
 * firewall — the nftables rules that keep demo copies apart.
 *
 * Visitors are strangers with root inside their copy (an admin who uploads a
 * module runs PHP as root). Every copy sits on a Podman bridge network that
 * demux owns (docs/SECURITY.md); this module owns two nftables tables,
 * `inet demux` and `bridge demux`, that allow a copy exactly one kind of
 * traffic: answers to connections made to it through its published port
 * (the proxy, demux's health check). Everything a copy starts itself is
 * dropped: to another copy, to any address of the host, and (unless its
 * network allows egress) to the outside world.
 *
 * The rules depend only on the networks (interface, subnet), never on a
 * copy: a restore adds no rule and costs nothing here. Applying is one
 * atomic nftables transaction that replaces both tables, so it is
 * idempotent and safe while copies run.
 *
 * Bridged frames between two copies never reach the IP hooks unless the
 * kernel's bridge netfilter (br_netfilter) hands them over; the inet table
 * relies on it, and the bridge table drops IPv4 between addresses of a demux
 * subnet without it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>

#include "firewall.h"
#include "errf.h"
#include "log.h"

#define RULESET_MAX ((size_t)64 * 1024)

static const char *const bridge_nf_sysctls[] = {
    "/proc/sys/net/bridge/bridge-nf-call-iptables",
    "/proc/sys/net/bridge/bridge-nf-call-ip6tables",
};

int
firewall_validate_interface(const char *name, char *err, size_t errlen)
{
	size_t n = name != NULL ? strlen(name) : 0;

	if (n == 0 || n > FIREWALL_IFNAME_MAX)
		return errf(err, errlen, "network interface '%s': 1 to 15 characters",
			    name ? name : "");
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return errf(err, errlen,
				    "network interface '%s': only letters, digits, - and _", name);
	}
	return 0;
}

int
firewall_validate_subnet(const char *cidr, char *err, size_t errlen)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = cidr != NULL ? strchr(cidr, '/') : NULL;
	struct in_addr in;
	char *end = NULL;
	long len = -1;

	if (slash != NULL && (size_t)(slash - cidr) < sizeof(addr)) {
		memcpy(addr, cidr, (size_t)(slash - cidr));
		addr[slash - cidr] = '\0';
		errno = 0;
		if (slash[1] >= '0' && slash[1] <= '9')
			len = strtol(slash + 1, &end, 10);
		if (errno != 0 || end == NULL || *end != '\0' || inet_pton(AF_INET, addr, &in) != 1)
			len = -1;
	}
	if (len < 8 || len > 30)
		return errf(err, errlen, "subnet '%s': expected an IPv4 CIDR such as 10.89.0.0/24",
			    cidr ? cidr : "");
	return 0;
}

static int
render_net_set(struct buf *out, const struct firewall_net *nets, int n)
{
	if (buf_appends(out, "{ ") == -1)
		return -1;
	for (int i = 0; i < n; i++)
		if (buf_printf(out, "%s\"%s\"", i ? ", " : "", nets[i].interface) == -1)
			return -1;
	return buf_appends(out, " }");
}

static int
render_inet(const struct firewall_net *nets, int n, struct buf *out)
{
	struct buf set;
	int ret = -1;

	buf_init(&set, 4096);
	if (render_net_set(&set, nets, n) == -1)
		goto out;
	if (buf_appends(out, "table inet " FIREWALL_TABLE "\n"
			     "delete table inet " FIREWALL_TABLE "\n"
			     "table inet " FIREWALL_TABLE " {\n"
			     "\tchain input {\n"
			     "\t\ttype filter hook input priority filter - 10; policy accept;\n") ==
		-1 ||
	    buf_printf(out,
		       "\t\tiifname %s ct state established,related accept\n"
		       "\t\tiifname %s counter drop comment \"copy to host\"\n"
		       "\t}\n"
		       "\tchain forward {\n"
		       "\t\ttype filter hook forward priority filter - 10; policy accept;\n",
		       buf_str(&set), buf_str(&set)) == -1)
		goto out;
	for (int i = 0; i < n; i++) {
		const char *ifn = nets[i].interface;
		if (buf_printf(
			out,
			"\t\tiifname \"%s\" oifname \"%s\" counter drop comment \"copy to copy\"\n"
			"\t\toifname \"%s\" ct state established,related accept\n"
			"\t\toifname \"%s\" ct status dnat accept\n"
			"\t\toifname \"%s\" counter drop comment \"outside to copy\"\n"
			"\t\tiifname \"%s\" ct state established,related accept\n",
			ifn, ifn, ifn, ifn, ifn, ifn) == -1)
			goto out;
		if (nets[i].egress &&
		    buf_printf(out,
			       "\t\tiifname \"%s\" ip daddr 169.254.0.0/16 counter drop comment "
			       "\"link-local (cloud metadata)\"\n"
			       "\t\tiifname \"%s\" accept\n",
			       ifn, ifn) == -1)
			goto out;
		if (buf_printf(out, "\t\tiifname \"%s\" counter drop comment \"copy to outside\"\n",
			       ifn) == -1)
			goto out;
	}
	if (buf_appends(out, "\t}\n}\n") == -1)
		goto out;
	ret = 0;
out:
	buf_free(&set);
	return ret;
}

static int
render_bridge(const struct firewall_net *nets, int n, struct buf *out)
{
	if (buf_appends(
		out, "table bridge " FIREWALL_TABLE "\n"
		     "delete table bridge " FIREWALL_TABLE "\n"
		     "table bridge " FIREWALL_TABLE " {\n"
		     "\tchain forward {\n"
		     "\t\ttype filter hook forward priority filter - 10; policy accept;\n") == -1)
		return -1;
	for (int i = 0; i < n; i++)
		if (buf_printf(
			out, "\t\tip saddr %s ip daddr %s counter drop comment \"copy to copy\"\n",
			nets[i].subnet, nets[i].subnet) == -1)
			return -1;
	return buf_appends(out, "\t}\n}\n");
}

int
firewall_render(const struct firewall_net *nets, int n, struct buf *out, char *err, size_t errlen)
{
	if (n < 1 || n > FIREWALL_MAX_NETS)
		return errf(err, errlen, "firewall: %d networks (1 to %d allowed)", n,
			    FIREWALL_MAX_NETS);
	for (int i = 0; i < n; i++)
		if (firewall_validate_interface(nets[i].interface, err, errlen) == -1 ||
		    firewall_validate_subnet(nets[i].subnet, err, errlen) == -1)
			return -1;
	if (render_inet(nets, n, out) == -1 || render_bridge(nets, n, out) == -1)
		return errf(err, errlen, "firewall: ruleset larger than %zu bytes", RULESET_MAX);
	return 0;
}

/* Runs one nftables script; the library's own message on failure. */
static int
nft_run(const char *script, struct buf *output, char *err, size_t errlen)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	int ret = -1;

	if (ctx == NULL)
		return errf(err, errlen, "nftables: %s", "cannot create a context");
	if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0) {
		errf(err, errlen, "nftables: %s", "cannot buffer output");
		goto out;
	}
	if (nft_run_cmd_from_buffer(ctx, script) != 0) {
		const char *msg = nft_ctx_get_error_buffer(ctx);
		char line[512];
		size_t k = 0;
		/* The first line says what failed; the rest repeats the script. */
		for (; msg != NULL && msg[k] != '\0' && msg[k] != '\n' && k + 1 < sizeof(line); k++)
			line[k] = msg[k];
		line[k] = '\0';
		errf(err, errlen, "nftables: %s", k ? line : "command failed (is demux root?)");
		goto out;
	}
	if (output != NULL && buf_appends(output, nft_ctx_get_output_buffer(ctx)) == -1) {
		errf(err, errlen, "nftables: %s", "output too large");
		goto out;
	}
	ret = 0;
out:
	nft_ctx_free(ctx);
	return ret;
}

/* Makes bridged traffic between copies visible to the inet table's rules.
 * Missing br_netfilter is not fatal: the bridge table still drops IPv4
 * between copies, and copies have IPv6 turned off. */
static void
ensure_bridge_netfilter(void)
{
	for (size_t i = 0; i < sizeof(bridge_nf_sysctls) / sizeof(bridge_nf_sysctls[0]); i++) {
		FILE *f = fopen(bridge_nf_sysctls[i], "r+");
		int c;
		if (f == NULL) {
			log_warnx("firewall: %s missing (br_netfilter not loaded): copy-to-copy "
				  "isolation relies on the bridge table alone",
				  bridge_nf_sysctls[i]);
			continue;
		}
		c = fgetc(f);
		if (c != '1') {
			rewind(f);
			if (fputs("1\n", f) == EOF)
				log_warn("firewall: enabling %s", bridge_nf_sysctls[i]);
			else
				log_info("firewall: enabled %s", bridge_nf_sysctls[i]);
		}
		fclose(f);
	}
}

int
firewall_apply(const struct firewall_net *nets, int n, char *err, size_t errlen)
{
	struct buf script;
	int ret = -1;

	buf_init(&script, RULESET_MAX);
	if (firewall_render(nets, n, &script, err, errlen) == -1)
		goto out;
	ensure_bridge_netfilter();
	if (nft_run(buf_str(&script), NULL, err, errlen) == -1)
		goto out;
	ret = 0;
out:
	buf_free(&script);
	return ret;
}

int
firewall_remove(char *err, size_t errlen)
{
	/* "add" first: deleting a table that is not there is an error. */
	return nft_run("table inet " FIREWALL_TABLE "\n"
		       "delete table inet " FIREWALL_TABLE "\n"
		       "table bridge " FIREWALL_TABLE "\n"
		       "delete table bridge " FIREWALL_TABLE "\n",
		       NULL, err, errlen);
}

int
firewall_present(bool *present, char *err, size_t errlen)
{
	struct buf out;
	int ret = -1;

	buf_init(&out, RULESET_MAX);
	if (nft_run("list tables", &out, err, errlen) == -1)
		goto out;
	*present = strstr(buf_str(&out), "table inet " FIREWALL_TABLE "\n") != NULL &&
		   strstr(buf_str(&out), "table bridge " FIREWALL_TABLE "\n") != NULL;
	ret = 0;
out:
	buf_free(&out);
	return ret;
}
