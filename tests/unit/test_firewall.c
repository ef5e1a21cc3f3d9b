/* Unit tests for firewall: the nftables script demux writes, and what it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "firewall.h"

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void
test_render_closed_network(void **state)
{
	struct firewall_net net = {
	    .interface = "demux0", .subnet = "10.89.7.0/24", .egress = false};
	struct buf out;
	char err[256] = "";
	const char *s;

	(void)state;
	buf_init(&out, (size_t)64 * 1024);
	assert_int_equal(firewall_render(&net, 1, &out, err, sizeof(err)), 0);
	s = buf_str(&out);
	/* Both tables are replaced whole, in one script. */
	assert_non_null(strstr(s, "delete table inet demux\n"));
	assert_non_null(strstr(s, "delete table bridge demux\n"));
	/* Copy to host: only answers pass. */
	assert_non_null(strstr(s, "iifname { \"demux0\" } ct state established,related accept\n"
				  "\t\tiifname { \"demux0\" } counter drop"));
	/* Copy to copy, in both tables. */
	assert_non_null(strstr(s, "iifname \"demux0\" oifname \"demux0\" counter drop"));
	assert_non_null(strstr(s, "ip saddr 10.89.7.0/24 ip daddr 10.89.7.0/24 counter drop"));
	/* No egress: nothing a copy starts leaves it, and no accept for its traffic. */
	assert_non_null(strstr(s, "iifname \"demux0\" counter drop comment \"copy to outside\""));
	assert_null(strstr(s, "iifname \"demux0\" accept"));
	/* Published ports still reach it. */
	assert_non_null(strstr(s, "oifname \"demux0\" ct status dnat accept"));
	buf_free(&out);
}

static void
test_render_egress_network(void **state)
{
	struct firewall_net nets[] = {
	    {.interface = "demux0", .subnet = "10.89.7.0/24", .egress = false},
	    {.interface = "demux1", .subnet = "10.89.8.0/24", .egress = true},
	};
	struct buf out;
	char err[256] = "";
	const char *s;

	(void)state;
	buf_init(&out, (size_t)64 * 1024);
	assert_int_equal(firewall_render(nets, 2, &out, err, sizeof(err)), 0);
	s = buf_str(&out);
	assert_non_null(strstr(s, "iifname { \"demux0\", \"demux1\" } counter drop"));
	assert_non_null(strstr(s, "iifname \"demux1\" accept\n"));
	assert_null(strstr(s, "iifname \"demux0\" accept\n"));
	/* Open egress still keeps link-local (cloud metadata) out, before the accept. */
	assert_true(strstr(s, "iifname \"demux1\" ip daddr 169.254.0.0/16 counter drop") <
		    strstr(s, "iifname \"demux1\" accept\n"));
	assert_int_equal(count(s, "comment \"copy to copy\""), 4);
	buf_free(&out);
}

static void
test_render_refuses_hostile_input(void **state)
{
	const char *bad_if[] = {
	    "",	       "demux0\" accept", "a b", "x;flush ruleset", "abcdefghijklmnop",
	    "de{mux}", "eth0\n"};
	const char *bad_net[] = {
	    "",		  "10.89.0.0",	   "10.89.0.0/33", "300.1.1.1/24",
	    "10.0.0.0/4", "10.89.0.0/24;", "fe80::/64",	   "10.89.0.0/24 accept"};
	struct buf out;
	char err[256];

	(void)state;
	buf_init(&out, (size_t)64 * 1024);
	for (size_t i = 0; i < sizeof(bad_if) / sizeof(bad_if[0]); i++) {
		struct firewall_net net = {.interface = bad_if[i], .subnet = "10.89.0.0/24"};
		err[0] = '\0';
		assert_int_equal(firewall_render(&net, 1, &out, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "network interface"));
	}
	for (size_t i = 0; i < sizeof(bad_net) / sizeof(bad_net[0]); i++) {
		struct firewall_net net = {.interface = "demux0", .subnet = bad_net[i]};
		err[0] = '\0';
		assert_int_equal(firewall_render(&net, 1, &out, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "subnet"));
	}
	assert_int_equal(firewall_render(NULL, 0, &out, err, sizeof(err)), -1);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_render_closed_network),
	    cmocka_unit_test(test_render_egress_network),
	    cmocka_unit_test(test_render_refuses_hostile_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
