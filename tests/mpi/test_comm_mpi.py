"""Under mpirun: the build/output/control collectives of distsim.comm wait for the other ranks
without spinning, so a rank that waits (for rank 0 writing a file or computing a reference)
leaves the CPU to the ranks that work. The values they return are those of mpi4py's.

Run as ``mpirun -n N python -m mpi4py -m pytest --with-mpi tests/mpi`` with N = 2, 3, 4.
"""
import resource
import time

import numpy as np
import pytest

from distsim.comm import get_comm

pytestmark = pytest.mark.timeout(120)


def _cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("op", ["bcast", "barrier", "gather", "allgather", "allreduce_sum"])
def test_waiting_ranks_do_not_spin(op):
    comm = get_comm()
    comm.barrier()
    wall0, cpu0 = time.perf_counter(), _cpu_s()
    if comm.rank == 0:
        time.sleep(1.0)  # rank 0 is busy elsewhere for 1 s
    out = {"bcast": lambda: comm.bcast(comm.rank + 7),
           "barrier": lambda: comm.barrier(),
           "gather": lambda: comm.gather(comm.rank),
           "allgather": lambda: comm.allgather(comm.rank),
           "allreduce_sum": lambda: comm.allreduce_sum(np.array([comm.rank], dtype=np.int64))}[op]()
    wall, cpu = time.perf_counter() - wall0, _cpu_s() - cpu0
    if comm.rank != 0:
        assert wall >= 0.9  # it did wait for rank 0
        assert cpu < 0.1, f"rank {comm.rank} spent {cpu:.2f} s of CPU in {wall:.2f} s waiting in {op}"
    expected = {"bcast": 7, "barrier": None, "gather": list(range(comm.size)) if comm.rank == 0 else None,
                "allgather": list(range(comm.size)),
                "allreduce_sum": [comm.size * (comm.size - 1) // 2]}[op]
    got = out.tolist() if isinstance(out, np.ndarray) else out
    assert got == expected
