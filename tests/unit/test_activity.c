/* Unit tests for activity: parsing /proc/<pid>/net/snmp, and reading it for
 * a live process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "activity.h"

static const char snmp[] =
    "Ip: Forwarding DefaultTTL InReceives\n"
    "Ip: 1 64 9308391\n"
    "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails "
    "EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n"
    "Tcp: 1 200 120000 -1 1 2 0 0 0 26 24 0 0 0 0\n"
    "Udp: InDatagrams NoPorts InErrors\n"
    "Udp: 2551 6 0\n";

static void
test_parse_in_segs(void **state)
{
	long long n = -1;

	(void)state;
	assert_int_equal(activity_parse_snmp(snmp, &n), 0);
	assert_int_equal(n, 26);
	/* Large counters and the column found by name, wherever it is. */
	assert_int_equal(activity_parse_snmp("Tcp: InSegs OutSegs\nTcp: 98765432101 5\n", &n), 0);
	assert_int_equal(n, 98765432101LL);
}

static void
test_parse_refuses_other_text(void **state)
{
	long long n = 7;

	(void)state;
	assert_int_equal(activity_parse_snmp("", &n), -1);
	assert_int_equal(activity_parse_snmp("Ip: a b\nIp: 1 2\n", &n), -1);
	assert_int_equal(activity_parse_snmp("Tcp: InSegs OutSegs\n", &n), -1); /* no values */
	assert_int_equal(activity_parse_snmp("Tcp: InSegs OutSegs\nTcp: 5\n", &n), -1);
	assert_int_equal(activity_parse_snmp("Tcp: InSegs OutSegs\nTcp: x 5\n", &n), -1);
	assert_int_equal(activity_parse_snmp("Tcp: InSegs OutSegs\nTcp: -3 5\n", &n), -1);
	assert_int_equal(activity_parse_snmp("Tcp: ActiveOpens\nTcp: 3\n", &n), -1);
	assert_int_equal(n, 7); /* untouched */
}

static void
test_reads_a_live_process(void **state)
{
	long long n = -1;
	char err[256];

	(void)state;
	assert_int_equal(activity_tcp_segments((int)getpid(), &n, err, sizeof(err)), 0);
	assert_true(n >= 0);
	assert_int_equal(activity_tcp_segments(0, &n, err, sizeof(err)), -1);
	assert_int_equal(activity_tcp_segments(2147483646, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/proc/2147483646/net/snmp"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_in_segs),
	    cmocka_unit_test(test_parse_refuses_other_text),
	    cmocka_unit_test(test_reads_a_live_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
