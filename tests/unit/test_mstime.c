/* Unit tests for mstime: the clock advances and a sleep lasts as long as asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>

#include "mstime.h"

static void
test_clock_never_goes_back(void **state)
{
	double prev = mstime_now(), now;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		now = mstime_now();
		assert_true(now >= prev);
		prev = now;
	}
}

static void
test_sleep_lasts_at_least_ms(void **state)
{
	double t0 = mstime_now(), took;

	(void)state;
	mstime_sleep(30);
	took = mstime_now() - t0;
	assert_true(took >= 30.0);
	assert_true(took < 2000.0);
}

static void
test_sleep_of_nothing_returns_at_once(void **state)
{
	double t0 = mstime_now();

	(void)state;
	mstime_sleep(0);
	mstime_sleep(-5);
	assert_true(mstime_now() - t0 < 5.0);
}

static void
on_alarm(int sig)
{
	(void)sig;
}

/* A signal in the middle of the sleep does not cut it short. */
static void
test_sleep_resumes_after_signal(void **state)
{
	struct sigaction sa, old;
	struct itimerval it = {.it_value = {.tv_sec = 0, .tv_usec = 20 * 1000}};
	double t0, took;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	t0 = mstime_now();
	mstime_sleep(80);
	took = mstime_now() - t0;
	sigaction(SIGALRM, &old, NULL);
	assert_true(took >= 80.0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clock_never_goes_back),
	    cmocka_unit_test(test_sleep_lasts_at_least_ms),
	    cmocka_unit_test(test_sleep_of_nothing_returns_at_once),
	    cmocka_unit_test(test_sleep_resumes_after_signal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
