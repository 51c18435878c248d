#!/usr/bin/python3
"""PyTorch baseline for quorate-train's benchmark (testsuite/bench/trainer.sh).

The same networks, data, normalisation, batch, optimizer (Adam, cosine
schedule to zero) and world size as quorate-train; 2 ranks run as
DistributedDataParallel with the gloo backend over loopback, each rank
taking half of every global batch of one shared permutation, as
quorate-train does.  Prints one JSON line:

  {"impl": "pytorch", "model": "mlp", "world": 1, "threads": 2,
   "blas_threads": 2, "interop_threads": 2, "batch": 64,
   "samples_per_s": ..., "train_seconds": ..., "test_acc": ..., ...}

Threads per rank: --threads intra-op threads (torch.set_num_threads and
OMP_NUM_THREADS), --blas-threads OpenBLAS threads (OPENBLAS_NUM_THREADS),
--interop-threads (torch.set_num_interop_threads).  The environment
variables are read when the libraries load, so the script starts itself
again with them set when they differ.  The JSON line records the counts
each library reports after the setting; every rank writes
torch.__config__.parallel_info() to standard error.

samples_per_s is all the training samples over all the training seconds
(no evaluation), not a mean of per-epoch rates.
"""
import argparse
import ctypes
import gzip
import json
import math
import os
import socket
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(data_dir, limit):
    def find(name):
        for cand in (name, name + ".gz"):
            p = os.path.join(data_dir, cand)
            if os.path.exists(p):
                return p
        sys.exit(f"trainer_torch.py: no {name}[.gz] in {data_dir}")
    xs = read_idx(find("train-images-idx3-ubyte"))
    ys = read_idx(find("train-labels-idx1-ubyte"))
    xt = read_idx(find("t10k-images-idx3-ubyte"))
    yt = read_idx(find("t10k-labels-idx1-ubyte"))
    if limit:
        xs, ys, xt, yt = xs[:limit], ys[:limit], xt[:limit], yt[:limit]
    mean = xs.astype(np.float64).mean() / 255.0
    std = (xs.astype(np.float64) / 255.0).std()
    norm = lambda x: torch.from_numpy(((x.astype(np.float32) / 255.0 - mean) / std).reshape(-1, 1, 28, 28))
    return norm(xs), torch.from_numpy(ys.astype(np.int64)), norm(xt), torch.from_numpy(yt.astype(np.int64))


def make_model(kind):
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(),
                             nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


def evaluate(model, xt, yt):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, xt.shape[0], 1000):
            correct += (model(xt[i:i + 1000]).argmax(1) == yt[i:i + 1000]).sum().item()
    model.train()
    return correct / xt.shape[0]


def openblas_threads():
    """The OpenBLAS threads of this process (torch loaded the library), or None."""
    try:
        return ctypes.CDLL("libopenblas.so.0").openblas_get_num_threads()
    except (OSError, AttributeError):
        return None


def set_threads(rank, args):
    """Pin this rank's threads; return what the libraries report."""
    torch.set_num_threads(args.threads)
    try:
        # Allowed only before the first inter-op parallel work.
        torch.set_num_interop_threads(args.interop_threads)
    except RuntimeError as e:
        print(f"trainer_torch.py: rank {rank}: set_num_interop_threads: {e}", file=sys.stderr)
    got = {"threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
           "blas_threads": openblas_threads()}
    print(f"trainer_torch.py: rank {rank}: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')} "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')} {json.dumps(got)}\n"
          + torch.__config__.parallel_info(), file=sys.stderr, flush=True)
    return got


def run(rank, args, port, queue):
    world = args.world
    got = set_threads(rank, args)
    cuda = args.device == "cuda"
    dev = torch.device(f"cuda:{rank % torch.cuda.device_count()}" if cuda else "cpu")
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo",
                                init_method=f"tcp://127.0.0.1:{port}",
                                rank=rank, world_size=world)
    torch.manual_seed(args.seed)
    xs, ys, xt, yt = load(args.data, args.limit)
    xs, ys, xt, yt = xs.to(dev), ys.to(dev), xt.to(dev), yt.to(dev)
    model = make_model(args.model).to(dev)
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if cuda else None)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    n = xs.shape[0]
    steps = (n + args.batch - 1) // args.batch
    total = steps * args.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, total) / total)))
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(args.seed)
    tta = None		# training seconds to --target accuracy, evaluated every --eval-steps
    train_seconds = 0.0
    trained = 0
    for epoch in range(args.epochs):
        perm = torch.randperm(n, generator=gen)
        model.train()
        t0 = time.perf_counter()
        for s in range(steps):
            idx = perm[s * args.batch:(s + 1) * args.batch].to(dev)
            part = idx.tensor_split(world)[rank]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xs[part]), ys[part])
            loss.backward()
            opt.step()
            sched.step()
            trained += idx.numel()
            if args.target and tta is None and (epoch * steps + s + 1) % args.eval_steps == 0:
                if cuda:
                    torch.cuda.synchronize()
                train_seconds += time.perf_counter() - t0
                if evaluate(model, xt, yt) >= args.target:
                    tta = train_seconds
                t0 = time.perf_counter()
        if cuda:
            torch.cuda.synchronize()
        train_seconds += time.perf_counter() - t0
    acc = evaluate(model, xt, yt)
    if rank == 0:
        queue.put({"impl": "pytorch", "version": torch.__version__, "model": args.model,
                   "world": world, "threads": got["threads"],
                   "interop_threads": got["interop_threads"],
                   "blas_threads": got["blas_threads"],
                   "requested": {"threads": args.threads, "blas_threads": args.blas_threads,
                                 "interop_threads": args.interop_threads},
                   "batch": args.batch,
                   "epochs": args.epochs, "train_samples": n, "trained_samples": trained,
                   "samples_per_s": trained / train_seconds,
                   "train_seconds": train_seconds,
                   "test_acc": acc, "device": args.device,
                   "seconds_to_target": tta})
    if world > 1:
        dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch", type=int, default=64, help="global batch")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--world", type=int, default=1)
    p.add_argument("--threads", type=int, default=0,
                   help="intra-op (OpenMP) threads per rank (default: CPUs / world)")
    p.add_argument("--blas-threads", type=int, default=0,
                   help="OpenBLAS threads per rank (default: --threads)")
    p.add_argument("--interop-threads", type=int, default=0,
                   help="inter-op threads per rank (default: --threads)")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--target", type=float, default=0.0,
                   help="record the training seconds until this test accuracy")
    p.add_argument("--eval-steps", type=int, default=100)
    args = p.parse_args()
    if args.threads <= 0:
        args.threads = max(1, len(os.sched_getaffinity(0)) // args.world)
    if args.blas_threads <= 0:
        args.blas_threads = args.threads
    if args.interop_threads <= 0:
        args.interop_threads = args.threads
    env = {"OPENBLAS_NUM_THREADS": str(args.blas_threads), "OMP_NUM_THREADS": str(args.threads)}
    if any(os.environ.get(k) != v for k, v in env.items()):
        # OpenBLAS and OpenMP read these when torch loads them: start again.
        os.environ.update(env)
        os.execv(sys.executable, [sys.executable] + sys.argv)
    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    if args.world == 1:
        run(0, args, 0, queue)
    else:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        mp.start_processes(run, args=(args, port, queue), nprocs=args.world,
                           start_method="spawn", join=True)
    print(json.dumps(queue.get()))


if __name__ == "__main__":
    main()
