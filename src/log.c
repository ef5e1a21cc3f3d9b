/*
 * log — leveled key=value logging to stderr, thread-safe (one write per line).
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Atomic: a configuration reload sets it while other threads log. */
static enum log_level current_level = LOG_LEVEL_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

int
log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
log_set_level(enum log_level level)
{
	__atomic_store_n(&current_level, level, __ATOMIC_RELAXED);
}

enum log_level
log_get_level(void)
{
	return __atomic_load_n(&current_level, __ATOMIC_RELAXED);
}

/* Length after appending m bytes to n, leaving room for '\n' (truncated
 * lines keep their start). */
static int
clamp_len(int n, int m, size_t size)
{
	long total = (long)n + (long)m;

	return total >= (long)size - 1 ? (int)size - 2 : (int)total;
}

static void
vlog(enum log_level level, const char *errstr, const char *fmt, va_list ap)
{
	char line[2048];
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	int n, m;

	if (level > log_get_level())
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ level=%s msg=", stamp, ts.tv_nsec / 1000000,
		     level_names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m < 0)
		return;
	n = clamp_len(n, m, sizeof(line));
	if (errstr != NULL) {
		m = snprintf(line + n, sizeof(line) - (size_t)n, " error=\"%s\"", errstr);
		if (m > 0)
			n = clamp_len(n, m, sizeof(line));
	}
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

#define LOG_FN(name, level)                                                                        \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		vlog(level, NULL, fmt, ap);                                                        \
		va_end(ap);                                                                        \
	}

LOG_FN(log_warnx, LOG_LEVEL_WARN)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)
LOG_FN(log_error, LOG_LEVEL_ERROR)

void
log_warn(const char *fmt, ...)
{
	char errbuf[128];
	va_list ap;
	const char *e = strerror_r(errno, errbuf, sizeof(errbuf));

	va_start(ap, fmt);
	vlog(LOG_LEVEL_WARN, e, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	char errbuf[128];
	va_list ap;
	const char *e = strerror_r(errno, errbuf, sizeof(errbuf));

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, e, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
