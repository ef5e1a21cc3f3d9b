/*
 * Unit tests for the pure parts of the Podman client (src/container/): the
 * parsers for Podman's and CRIU's statistics, error answers, multiplexed
 * logs, container lists, inspect answers and images.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "container/podman.h"
#include "container/podman_stats.h"

static void
test_restore_stats(void **state)
{
	struct restore_stats rs;
	char err[256];

	(void)state;
	/* Podman 5.4's REST answer to import/restore?printStats=true */
	assert_int_equal(podman_parse_restore_stats(
			     "{\"Id\":\"33ad\",\"runtime_restore_duration\":232839,"
			     "\"criu_statistics\":{\"forking_time\":4,\"restore_time\":149820,"
			     "\"pages_restored\":17}}",
			     &rs, err, sizeof(err)),
			 0);
	assert_true(rs.runtime_ms > 232.83 && rs.runtime_ms < 232.84);
	assert_true(rs.criu_ms > 149.81 && rs.criu_ms < 149.83);
	assert_int_equal(rs.pages_restored, 17);
	assert_true(rs.podman_ms == 0);
	/* podman container restore --print-stats */
	assert_int_equal(podman_parse_restore_stats(
			     "{\"podman_restore_duration\":1012345,\"container_statistics\":[{"
			     "\"Id\":\"x\",\"runtime_restore_duration\":400000,"
			     "\"criu_statistics\":{\"restore_time\":300000,"
			     "\"pages_restored\":22974}}]}",
			     &rs, err, sizeof(err)),
			 0);
	assert_true(rs.podman_ms > 1012.3 && rs.podman_ms < 1012.4);
	assert_true(rs.runtime_ms == 400.0);
	assert_true(rs.criu_ms == 300.0);
	assert_int_equal(rs.pages_restored, 22974);
	assert_int_equal(podman_parse_restore_stats("[]", &rs, err, sizeof(err)), -1);
	assert_int_equal(podman_parse_restore_stats("{\"Id\":\"x\"}", &rs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "criu_statistics"));
	assert_int_equal(podman_parse_restore_stats("not json", &rs, err, sizeof(err)), -1);
}

static void
test_checkpoint_stats(void **state)
{
	/* stats-dump from a real "podman container checkpoint --export" archive */
	static const unsigned char img[] = {
	    0x40, 0x59, 0x10, 0x55, 0x06, 0x33, 0x09, 0x57, 0x22, 0x00, 0x00, 0x00,
	    0x0a, 0x20, 0x08, 0x96, 0x0f, 0x10, 0x85, 0xee, 0x05, 0x18, 0xd8, 0x05,
	    0x20, 0x74, 0x28, 0x18, 0x30, 0x00, 0x38, 0x11, 0x40, 0x00, 0x48, 0x00,
	    0x50, 0x04, 0x58, 0x04, 0x60, 0x00, 0x68, 0x00, 0x70, 0x00};
	unsigned char bad[sizeof(img)];
	struct checkpoint_stats cs;
	char err[256];

	(void)state;
	memset(&cs, 0, sizeof(cs));
	assert_int_equal(podman_parse_criu_dump_stats(img, sizeof(img), &cs, err, sizeof(err)), 0);
	/* freezing 1942 us + frozen 96005 us */
	assert_true(cs.criu_ms > 97.946 && cs.criu_ms < 97.948);
	assert_int_equal(cs.pages_written, 17);
	assert_int_equal(podman_parse_criu_dump_stats(img, 20, &cs, err, sizeof(err)), -1);
	memcpy(bad, img, sizeof(img));
	bad[0] = 0;
	assert_int_equal(podman_parse_criu_dump_stats(bad, sizeof(bad), &cs, err, sizeof(err)), -1);
	memcpy(bad, img, sizeof(img));
	bad[13] = 0x7f; /* sub-message longer than the image */
	assert_int_equal(podman_parse_criu_dump_stats(bad, sizeof(bad), &cs, err, sizeof(err)), -1);

	assert_int_equal(podman_parse_checkpoint_stats(
			     "{\"podman_checkpoint_duration\":950000,\"container_statistics\":[{"
			     "\"Id\":\"x\",\"runtime_checkpoint_duration\":700000,"
			     "\"criu_statistics\":{\"freezing_time\":1000,\"frozen_time\":"
			     "500000,\"memdump_time\":400000,\"memwrite_time\":300000,"
			     "\"pages_scanned\":30000,\"pages_written\":22974}}]}",
			     &cs, err, sizeof(err)),
			 0);
	assert_true(cs.podman_ms == 950.0);
	assert_true(cs.runtime_ms == 700.0);
	assert_true(cs.criu_ms == 501.0);
	assert_int_equal(cs.pages_written, 22974);
	assert_int_equal(podman_parse_checkpoint_stats("{}", &cs, err, sizeof(err)), -1);
}

static void
test_error_messages(void **state)
{
	char err[256];

	(void)state;
	podman_error_message(500,
			     "{\"cause\":\"address already in use\",\"message\":\"cannot listen "
			     "on the TCP port: listen tcp4 127.0.0.1:18081: bind: address already "
			     "in use\",\"response\":500}",
			     err, sizeof(err));
	assert_string_equal(err, "Podman: cannot listen on the TCP port: listen tcp4 "
				 "127.0.0.1:18081: bind: address already in use");
	podman_error_message(500, "{\"message\":\"criu failed\\nlog line 2\"}", err, sizeof(err));
	assert_string_equal(err, "Podman: criu failed log line 2"); /* one line */
	podman_error_message(502, "Bad Gateway\n", err, sizeof(err));
	assert_string_equal(err, "Podman answered HTTP 502: Bad Gateway ");
	podman_error_message(500, "", err, sizeof(err));
	assert_string_equal(err, "Podman answered HTTP 500");
	/* the message Podman relays when runc's init dies during its handshake */
	podman_error_message(500,
			     "{\"message\":\"runc: runc create failed: unable to start container "
			     "process: waiting for init preliminary setup: read init-p: connection "
			     "reset by peer: OCI runtime error\"}",
			     err, sizeof(err));
	assert_true(podman_start_error_is_transient(err));
	assert_false(podman_start_error_is_transient("Podman: cannot listen on the TCP port"));
	assert_false(podman_start_error_is_transient(
	    "Podman: runc: exec: \"/nonexistent\": no such file or directory"));
}

static void
test_demux_logs(void **state)
{
	static const unsigned char framed[] = {1,    0, 0, 0, 0, 0, 0, 6, 'h', 'e', 'l', 'l', 'o',
					       '\n', 2, 0, 0, 0, 0, 0, 0, 4,   'e', 'r', 'r', '\n'};
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(podman_demux_logs(framed, sizeof(framed), &b), 0);
	assert_string_equal(buf_str(&b), "hello\nerr\n");
	buf_reset(&b);
	assert_int_equal(podman_demux_logs((const unsigned char *)"plain text\n", 11, &b), 0);
	assert_string_equal(buf_str(&b), "plain text\n");
	buf_free(&b);
}

static void
test_parse_list_inspect_image(void **state)
{
	struct container_info *list = NULL, info;
	struct podman_image *img = calloc(1, sizeof(*img));
	char err[256];
	int n = 0, pid = 0;

	(void)state;
	assert_int_equal(
	    podman_parse_list(
		"[{\"Id\":\"bee5\",\"Names\":[\"demux-abc\"],\"State\":\"running\","
		"\"ExitCode\":0,\"Labels\":{\"demux.managed\":\"1\",\"demux.template\":"
		"\"shop\"},\"Ports\":[{\"host_ip\":\"127.0.0.1\",\"container_port\":80,"
		"\"host_port\":20001,\"range\":1,\"protocol\":\"tcp\"}]},"
		"{\"Id\":\"c0ff\",\"Names\":[\"demux-def\"],\"State\":\"exited\","
		"\"ExitCode\":137,\"Labels\":null,\"Ports\":null}]",
		&list, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "demux-abc");
	assert_true(list[0].running);
	assert_string_equal(list[0].template_name, "shop");
	assert_int_equal(list[0].nports, 1);
	assert_int_equal(list[0].ports[0].host_port, 20001);
	assert_int_equal(list[0].ports[0].container_port, 80);
	assert_false(list[1].running);
	assert_int_equal(list[1].exit_code, 137);
	assert_string_equal(list[1].template_name, "");
	free(list);
	assert_int_equal(podman_parse_list("{}", &list, &n, err, sizeof(err)), -1);
	free(list);

	assert_int_equal(
	    podman_parse_inspect("{\"Id\":\"33ad\",\"Name\":\"demux-r1\",\"State\":{\"Status\":"
				 "\"running\",\"Running\":true,\"Pid\":1674,\"ExitCode\":0},"
				 "\"Config\":{\"Labels\":{\"demux.template\":\"x\"}},"
				 "\"NetworkSettings\":{\"Ports\":{\"8080/tcp\":[{\"HostIp\":"
				 "\"127.0.0.1\",\"HostPort\":\"18081\"}]}}}",
				 &info, &pid, err, sizeof(err)),
	    0);
	assert_string_equal(info.name, "demux-r1");
	assert_true(info.running);
	assert_int_equal(pid, 1674);
	assert_string_equal(info.template_name, "x");
	assert_int_equal(info.nports, 1);
	assert_int_equal(info.ports[0].container_port, 8080);
	assert_int_equal(info.ports[0].host_port, 18081);

	assert_int_equal(podman_parse_image("{\"Id\":\"dd3c\",\"Config\":{\"Entrypoint\":"
					    "[\"/run.sh\"],\"Cmd\":null,\"Labels\":{"
					    "\"demux.profile\":\"generic\"}}}",
					    img, err, sizeof(err)),
			 0);
	assert_string_equal(img->id, "dd3c");
	assert_string_equal(img->start, "/run.sh");
	assert_string_equal(podman_image_label(img, "demux.profile"), "generic");
	assert_null(podman_image_label(img, "demux.domain"));
	assert_int_equal(podman_parse_image("{\"Id\":\"e\",\"Config\":{\"Cmd\":[\"/bin/tinyhttp\","
					    "\"8080\"]}}",
					    img, err, sizeof(err)),
			 0);
	assert_string_equal(img->start, "/bin/tinyhttp");
	assert_int_equal(img->nlabels, 0);
	free(img);
}

/* A network as Podman's inspect answers it: name, bridge, IPv4 subnet. */
static void
test_parse_network(void **state)
{
	struct podman_network n;
	char err[256];

	(void)state;
	assert_int_equal(
	    podman_parse_network(
		"{\"name\":\"demux\",\"driver\":\"bridge\",\"network_interface\":\"demux0\","
		"\"subnets\":[{\"subnet\":\"fd00::/64\"},{\"subnet\":\"10.89.3.0/24\","
		"\"gateway\":\"10.89.3.1\"}],\"internal\":false,\"dns_enabled\":false}",
		&n, err, sizeof(err)),
	    0);
	assert_string_equal(n.name, "demux");
	assert_string_equal(n.interface, "demux0");
	assert_string_equal(n.subnet, "10.89.3.0/24");
	assert_false(n.internal);
	assert_int_equal(podman_parse_network("{\"name\":\"x\",\"network_interface\":\"x0\","
					      "\"subnets\":[{\"subnet\":\"fd00::/64\"}]}",
					      &n, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "no IPv4 subnet"));
	assert_int_equal(podman_parse_network("{\"name\":\"x\"}", &n, err, sizeof(err)), -1);
	assert_int_equal(podman_parse_network("not json", &n, err, sizeof(err)), -1);
	assert_int_equal(podman_parse_network("{\"name\":\"x\",\"network_interface\":"
					      "\"a-very-long-interface-name\",\"subnets\":[]}",
					      &n, err, sizeof(err)),
			 -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_restore_stats),
	    cmocka_unit_test(test_checkpoint_stats),
	    cmocka_unit_test(test_error_messages),
	    cmocka_unit_test(test_demux_logs),
	    cmocka_unit_test(test_parse_list_inspect_image),
	    cmocka_unit_test(test_parse_network),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
