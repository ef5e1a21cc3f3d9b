/*
 * Unit tests for template_create: the pure step of making a template, the
 * count of open TCP connections in /proc/<pid>/net/tcp that would stop CRIU.
 * The rest of the create flow needs Podman: tests/integration/template.sh and
 * tests/integration/podman_runtime.c run it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "template_create.h"

static void
test_tcp_connections(void **state)
{
	/* /proc/<pid>/net/tcp: listening, established (owned), TIME_WAIT (orphan) */
	static const char tcp[] =
	    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid "
	    " timeout inode\n"
	    "   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 "
	    "       0 1678 1 000000002702f800 100 0 0 10 0\n"
	    "   1: 0100007F:0CEA 0100007F:B26E 01 00000000:00000000 00:00000000 00000000     0 "
	    "       0 118164 1 00000000e1710119 20 4 30 10 -1\n"
	    "   2: 0100007F:0050 0100007F:C350 06 00000000:00000000 03:00000DA5 00000000     0 "
	    "       0 0 3 0000000000000000\n";
	char first[128];

	(void)state;
	assert_int_equal(template_count_tcp_connections(tcp, first, sizeof(first)), 1);
	assert_string_equal(first, "port 3306 -> port 45678, state 01");
	assert_int_equal(template_count_tcp_connections("", first, sizeof(first)), 0);
	assert_string_equal(first, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tcp_connections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
