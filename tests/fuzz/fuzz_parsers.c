/*
 * libFuzzer target for the parsers that take text from configuration files,
 * Podman, the kernel or a visitor: the first input byte picks the parser,
 * the rest is its input (NUL-terminated). Each must refuse what it cannot
 * read with -1, never crash or read out of bounds.
 *
 *   make fuzz && build/fuzz/fuzz_parsers -max_total_time=60
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "activity.h"
#include "app/db.h"
#include "app/generic.h"
#include "app/profile.h"
#include "app/wordpress.h"
#include "buf.h"
#include "container/podman.h"
#include "container/podman_stats.h"
#include "log.h"
#include "proxy/route_check.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
run(unsigned int which, const char *s)
{
	char err[512], out[1024], front[ROUTE_UPSTREAM_MAX], host[ROUTE_HOST_MAX];
	struct generic_script gs;
	struct container_info ci, *list = NULL;
	struct restore_stats rs;
	struct checkpoint_stats cs;
	struct podman_image img;
	struct app_instance inst = {.domain = s, .scheme = "http", .port = 8088};
	struct buf b;
	long long n;
	int pid, count;

	switch (which % 12) {
	case 0:
		if (generic_parse(s, &gs, err, sizeof(err)) == 0)
			generic_script_free(&gs);
		break;
	case 1:
		(void)activity_parse_snmp(s, &n);
		break;
	case 2:
		(void)validate_domain(s, err, sizeof(err));
		(void)validate_host_port(s, err, sizeof(err));
		(void)validate_prefix(s, err, sizeof(err));
		(void)validate_instance_prefix(s, err, sizeof(err));
		(void)validate_name(s, err, sizeof(err));
		(void)validate_url_path(s, err, sizeof(err));
		break;
	case 3:
		(void)wordpress_rewrite_url(s, "a.demo.localhost:8088", out, sizeof(out), err,
					    sizeof(err));
		break;
	case 4:
		(void)app_site_host(&inst, out, sizeof(out), err, sizeof(err));
		break;
	case 5:
		(void)route_check_host(s, "demo.localhost", host, err, sizeof(err));
		(void)route_check_upstream(s, err, sizeof(err));
		(void)route_check_front_upstream(s, front, err, sizeof(err));
		break;
	case 6:
		(void)podman_parse_inspect(s, &ci, &pid, err, sizeof(err));
		break;
	case 7:
		if (podman_parse_list(s, &list, &count, err, sizeof(err)) == 0 || list != NULL)
			free(list);
		break;
	case 8:
		(void)podman_parse_restore_stats(s, &rs, err, sizeof(err));
		(void)podman_parse_checkpoint_stats(s, &cs, err, sizeof(err));
		break;
	case 9:
		(void)podman_parse_image(s, &img, err, sizeof(err));
		break;
	case 10:
		(void)db_like_escape(s, out, sizeof(out));
		(void)db_validate_schema(s, err, sizeof(err));
		break;
	default:
		buf_init(&b, 4096);
		(void)db_append_ident(&b, s, err, sizeof(err));
		(void)db_append_prefixed_ident(&b, s, "options", err, sizeof(err));
		(void)podman_demux_logs((const unsigned char *)s, strlen(s), &b);
		buf_free(&b);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	log_set_level(LOG_LEVEL_ERROR);
	run(data[0], s);
	free(s);
	return 0;
}
