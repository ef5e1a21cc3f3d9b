/*
 * mstime — elapsed time and waits in milliseconds.
 *
 * Durations (restore, health, hook timings) and deadlines (retry loops, poll
 * loops) are measured on CLOCK_MONOTONIC, so a change of the wall clock
 * neither stretches nor cuts them. Wall-clock time stays with time(2).
 */
#ifndef DEMUX_MSTIME_H
#define DEMUX_MSTIME_H

/* Milliseconds on the monotonic clock (fractional); only differences mean
 * anything. */
double mstime_now(void);
/* Sleeps ms milliseconds (nothing for ms <= 0), resuming after a signal. */
void mstime_sleep(long ms);

#endif
