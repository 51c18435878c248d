/* Unit tests for mpi-trainer/gpu_host.c, the GPU build's host-side
 * decisions (they run everywhere, GPU or not). */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gpu_host.h"

static void test_device_choice(void **state)
{
	assert_int_equal(gpu_device_for(0, 4), 0);
	assert_int_equal(gpu_device_for(3, 4), 3);
	assert_int_equal(gpu_device_for(5, 4), 1);	/* more ranks than devices */
	assert_int_equal(gpu_device_for(0, 1), 0);
	assert_int_equal(gpu_device_for(0, 0), -1);
	assert_int_equal(gpu_device_for(-1, 2), -1);
}

static void test_deterministic_env(void **state)
{
	char log[256];

	unsetenv("NCCL_ALGO");
	unsetenv("NCCL_PROTO");
	setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8", 1);	/* the user's choice stays */
	gpu_deterministic_env(log, sizeof(log));
	assert_string_equal(getenv("NCCL_ALGO"), "Ring");
	assert_string_equal(getenv("NCCL_PROTO"), "Simple");
	assert_string_equal(getenv("CUBLAS_WORKSPACE_CONFIG"), ":16:8");
	assert_string_equal(log, "NCCL_ALGO=Ring NCCL_PROTO=Simple");
	gpu_deterministic_env(log, sizeof(log));
	assert_string_equal(log, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_choice),
		cmocka_unit_test(test_deterministic_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
