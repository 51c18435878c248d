/*
 * train.h - the subcommands of quorate-train beside training itself.
 */
#ifndef QUORATE_TRAIN_TRAIN_H
#define QUORATE_TRAIN_TRAIN_H

/* Seconds on the monotonic clock. */
double train_now(void);

/* quorate-train convert: IDX files to one HDF5 file. */
int train_convert_main(int argc, char **argv);

/* quorate-train roofline: a training step's GFLOP/s against sgemm's on the
 * same matrix shapes. */
int train_roofline_main(int argc, char **argv);

/* quorate-train allreduce-bench: each algorithm over message sizes (MPI). */
int train_allreduce_bench_main(int argc, char **argv);

/* quorate-train-gpu nccl-bench: NCCL all-reduce over message sizes. */
int train_nccl_bench_main(int argc, char **argv);

#endif
