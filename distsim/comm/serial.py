"""A one-rank communicator with the interface of MPIComm (for unit tests and serial runs)."""
import sys

import numpy as np


class SerialComm:
    """Serial stand-in: rank 0 of 1; collectives are copies."""

    rank = 0
    size = 1
    mpi_comm = None  # no mpi4py communicator (the HDF5 writer then uses its serial path)

    def barrier(self):
        """No-op."""

    def allreduce_sum(self, x):
        """Sum over ranks of a number or array (here: x itself)."""
        return x

    def allreduce_max(self, x):
        """Maximum over ranks (here: x itself)."""
        return x

    def allreduce_min(self, x):
        """Minimum over ranks (here: x itself)."""
        return x

    def exscan_sum(self, x):
        """Exclusive prefix sum over ranks (int); 0 on rank 0."""
        return 0

    def bcast(self, obj, root=0):
        """Broadcast a Python object from root."""
        return obj

    def allgather(self, obj):
        """List of every rank's object."""
        return [obj]

    def gather(self, obj, root=0):
        """List of every rank's object on root, None elsewhere."""
        return [obj]

    def alltoall_counts(self, send_counts):
        """Exchange one int64 per destination; returns int64[size] received counts."""
        return np.array(send_counts, dtype=np.int64).copy()

    def alltoallv(self, sendbuf, send_counts, recvbuf, recv_counts, send_displs=None):
        """Exchange variable-size int64 blocks; fills recvbuf (rank-ordered blocks)."""
        n = int(send_counts[0])
        a = 0 if send_displs is None else int(send_displs[0])
        recvbuf[:n] = sendbuf[a:a + n]

    def slot_exchange(self, sendbuf, slot_words, recvbuf):
        """The exchange of fixed-size slots (see ``MPIComm.slot_exchange``): the returned
        object copies ``sendbuf[:slot_words]`` into ``recvbuf[:slot_words]`` when called."""
        return _SlotCopy(sendbuf, slot_words, recvbuf)

    def finalize(self):
        """No-op (no MPI)."""

    def abort(self, code=1):
        """Terminate the job."""
        sys.exit(code)


class _SlotCopy:
    """See :meth:`SerialComm.slot_exchange`."""

    def __init__(self, sendbuf, slot_words, recvbuf):
        self._src, self._dst = sendbuf[:slot_words], recvbuf[:slot_words]
        self._words = int(slot_words)

    def compiled(self):
        """The handle of this exchange for compiled code (``comm.compiled.SerialSlots``: the
        same copy, done in numba)."""
        from .compiled import SerialSlots
        return SerialSlots(self._words)

    def __call__(self):
        self._dst[:] = self._src

    def free(self):
        """No-op."""
