/*
 * mpi_allreduce: the harness's MPI smoke test.  Every rank contributes
 * rank + 1; rank 0 checks that MPI_Allreduce produced n(n+1)/2 on every rank
 * and prints "allreduce ok: N ranks, sum S" (or an error and exit 1).
 */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	int rank, size, bad = 0, total_bad = 0;
	long mine, sum = 0, want;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	mine = rank + 1;
	MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
	want = (long)size * (size + 1) / 2;
	bad = sum != want;
	MPI_Reduce(&bad, &total_bad, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
	if (rank == 0) {
		if (total_bad)
			fprintf(stderr, "allreduce wrong on %d ranks: want %ld\n",
				total_bad, want);
		else
			printf("allreduce ok: %d ranks, sum %ld\n", size, sum);
	}
	MPI_Finalize();
	return rank == 0 && total_bad ? 1 : 0;
}
