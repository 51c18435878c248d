/* Unit tests for mpi-trainer/peerwatch.c: the bound on a wait for other
 * ranks.  A wait longer than the bound is reported once, with what it
 * waited in; shorter waits, and time spent outside waits, never are. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "peerwatch.h"

struct seen {
	int calls;
	char what[32];
	double waited;
};

static void note_expired(const char *what, double waited_s, void *arg)
{
	struct seen *s = arg;

	s->calls++;
	strncpy(s->what, what, sizeof(s->what) - 1);
	s->waited = waited_s;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

static void test_overdue(void **state)
{
	assert_false(peerwatch_overdue(-1, 100000, 1000));	/* no wait */
	assert_false(peerwatch_overdue(5000, 6000, 1000));	/* exactly the bound */
	assert_true(peerwatch_overdue(5000, 6001, 1000));
	assert_false(peerwatch_overdue(5000, 1000000, 0));	/* no bound */
}

static void test_refuses_no_bound(void **state)
{
	struct seen s = { 0 };

	assert_null(peerwatch_start(0, note_expired, &s));
	assert_null(peerwatch_start(-1, note_expired, &s));
	peerwatch_enter(NULL, "MPI_Bcast");	/* a NULL watch is a no-op */
	peerwatch_leave(NULL);
	peerwatch_stop(NULL);
}

static void test_long_wait_reported_once(void **state)
{
	struct seen s = { 0 };
	struct peerwatch *w = peerwatch_start(0.2, note_expired, &s);

	assert_non_null(w);
	peerwatch_enter(w, "MPI_Sendrecv");
	sleep_ms(700);
	peerwatch_leave(w);
	peerwatch_stop(w);
	assert_int_equal(s.calls, 1);
	assert_string_equal(s.what, "MPI_Sendrecv");
	assert_true(s.waited > 0.2 && s.waited < 0.6);
}

static void test_short_waits_and_work_not_reported(void **state)
{
	struct seen s = { 0 };
	struct peerwatch *w = peerwatch_start(0.3, note_expired, &s);

	assert_non_null(w);
	for (int i = 0; i < 10; i++) {
		peerwatch_enter(w, "MPI_Allreduce");
		sleep_ms(50);
		peerwatch_leave(w);
		sleep_ms(100);	/* computing: 1.5 s outside waits in all */
	}
	/* Nested enters (a collective inside a watched call) count once. */
	peerwatch_enter(w, "MPI_Finalize");
	peerwatch_enter(w, "MPI_Barrier");
	sleep_ms(100);
	peerwatch_leave(w);
	peerwatch_leave(w);
	sleep_ms(500);
	peerwatch_stop(w);
	assert_int_equal(s.calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_overdue),
		cmocka_unit_test(test_refuses_no_bound),
		cmocka_unit_test(test_long_wait_reported_once),
		cmocka_unit_test(test_short_waits_and_work_not_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
