"""Alltoall + Alltoallv cost per exchange, as distsim does it every min-delay interval.

    .venv/bin/python scripts/bench_alltoallv.py [--ranks 2 4 8] [--out scripts/results/alltoallv.json]

For each rank count it launches ``mpirun -n R`` (oversubscribed beyond 2 here) and times,
for several record sizes per destination, one exchange: Alltoall of the counts followed by
Alltoallv of int64 records (the same block to every rank). Reports the median time per
exchange (us) and a fit t = alpha + bytes_per_destination / beta.
"""
import argparse
import json
import os
import subprocess
import sys

SIZES = [0, 3, 30, 300, 3000, 30000]  # int64 words per destination (3 per spike)


def inner(reps):
    """Runs under mpirun: time exchanges, print JSON from rank 0."""
    import time

    import numpy as np

    from distsim.comm import get_comm
    comm = get_comm()
    out = {}
    for n in SIZES:
        send = np.arange(n, dtype=np.int64)
        counts = np.full(comm.size, n, dtype=np.int64)
        recv = np.empty(n * comm.size, dtype=np.int64)
        zero = np.zeros(comm.size, dtype=np.int64)
        times = []
        for r in range(reps + 50):
            comm.barrier()
            t = time.perf_counter()
            rc = comm.alltoall_counts(counts)
            comm.alltoallv(send, counts, recv, rc, zero)
            dt = time.perf_counter() - t
            if r >= 50:
                times.append(dt)
        worst = comm.allreduce_max(float(np.median(times)))
        out[n * 8] = worst * 1e6
    if comm.rank == 0:
        print(json.dumps({"ranks": comm.size, "us_per_exchange": out}))


def main(argv=None):
    """Launch the measurements for every rank count; write JSON; returns 0."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--ranks", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--reps", type=int, default=2000)
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "alltoallv.json"))
    a = ap.parse_args(argv)
    if a.inner:
        inner(a.reps)
        return 0
    import numpy as np
    res = []
    for r in a.ranks:
        p = subprocess.run(["mpirun", "-n", str(r), sys.executable, "-m", "mpi4py", os.path.abspath(__file__),
                            "--inner", "--reps", str(a.reps)], capture_output=True, text=True, timeout=1800)
        if p.returncode != 0:
            raise RuntimeError(p.stderr)
        d = json.loads(p.stdout.strip().splitlines()[-1])
        b = np.array([float(k) for k in d["us_per_exchange"]])
        t = np.array(list(d["us_per_exchange"].values()))
        slope, alpha = np.polyfit(b, t, 1)
        d["alpha_us"] = float(alpha)
        d["beta_bytes_per_us"] = float(1.0 / slope) if slope > 0 else float("inf")
        res.append(d)
        print(json.dumps(d))
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
