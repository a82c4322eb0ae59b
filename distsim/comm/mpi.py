"""MPI communicator over mpi4py (the only module in distsim that imports mpi4py)."""
import numpy as np
from mpi4py import MPI


class MPIComm:
    """COMM_WORLD with the collectives distsim uses; hot-path ones on numpy buffers."""

    def __init__(self, comm=None):
        self.mpi_comm = comm if comm is not None else MPI.COMM_WORLD
        self.rank = self.mpi_comm.Get_rank()
        self.size = self.mpi_comm.Get_size()

    def barrier(self):
        """Block until every rank arrives."""
        self.mpi_comm.Barrier()

    def allreduce_sum(self, x):
        """Sum over ranks of a number or numpy array."""
        if isinstance(x, np.ndarray):
            out = np.empty_like(x)
            self.mpi_comm.Allreduce(x, out, op=MPI.SUM)
            return out
        return self.mpi_comm.allreduce(x, op=MPI.SUM)

    def allreduce_max(self, x):
        """Maximum over ranks of a number."""
        return self.mpi_comm.allreduce(x, op=MPI.MAX)

    def allreduce_min(self, x):
        """Minimum over ranks of a number."""
        return self.mpi_comm.allreduce(x, op=MPI.MIN)

    def exscan_sum(self, x):
        """Exclusive prefix sum over ranks of an int; 0 on rank 0."""
        r = self.mpi_comm.exscan(int(x), op=MPI.SUM)
        return 0 if r is None else int(r)

    def bcast(self, obj, root=0):
        """Broadcast a Python object from root."""
        return self.mpi_comm.bcast(obj, root=root)

    def allgather(self, obj):
        """List of every rank's object."""
        return self.mpi_comm.allgather(obj)

    def gather(self, obj, root=0):
        """List of every rank's object on root, None elsewhere."""
        return self.mpi_comm.gather(obj, root=root)

    def alltoall_counts(self, send_counts):
        """Exchange one int64 per destination rank; returns int64[size] received counts."""
        send = np.ascontiguousarray(send_counts, dtype=np.int64)
        recv = np.empty(self.size, dtype=np.int64)
        self.mpi_comm.Alltoall(send, recv)
        return recv

    def alltoallv(self, sendbuf, send_counts, recvbuf, recv_counts, send_displs=None):
        """Exchange variable-size int64 blocks into the preallocated recvbuf (rank order).

        ``send_displs`` (int64[size]) defaults to consecutive blocks; all zeros sends the same
        block to every rank without copying it ``size`` times.
        """
        if send_displs is None:
            sdispl = np.zeros(self.size, dtype=np.int64)
            np.cumsum(send_counts[:-1], out=sdispl[1:])
        else:
            sdispl = send_displs
        rdispl = np.zeros(self.size, dtype=np.int64)
        np.cumsum(recv_counts[:-1], out=rdispl[1:])
        self.mpi_comm.Alltoallv([sendbuf, (send_counts, sdispl), MPI.INT64_T],
                                [recvbuf, (recv_counts, rdispl), MPI.INT64_T])

    def slot_exchange(self, sendbuf, slot_words, recvbuf):
        """The exchange of fixed-size slots (collective to create, to call and to free):
        calling the returned object sends ``sendbuf[:slot_words]`` (int64) to every rank and
        receives rank r's into ``recvbuf[r * slot_words:(r + 1) * slot_words]``. One
        MPI_Alltoallv, as an MPI-4 persistent request (``MPI_Alltoallv_init``: set up once,
        then only started and waited on) where the MPI library has it. ``.free()`` releases it."""
        return _SlotExchange(self.mpi_comm, sendbuf, slot_words, recvbuf)

    def abort(self, code=1):
        """MPI_Abort the whole job."""
        self.mpi_comm.Abort(code)

    def finalize(self):
        """End MPI on this rank (MPI_Finalize, collective: every rank calls it). After it, a
        non-zero exit code no longer makes ``python -m mpi4py`` call MPI_Abort, so a clean stop
        (SIGTERM, SIGINT) ends every rank normally with that code."""
        if MPI.Is_initialized() and not MPI.Is_finalized():
            self.mpi_comm.Barrier()
            MPI.Finalize()


class _SlotExchange:
    """See :meth:`MPIComm.slot_exchange`."""

    def __init__(self, comm, sendbuf, slot_words, recvbuf):
        size = comm.Get_size()
        if sendbuf.dtype != np.int64 or recvbuf.dtype != np.int64 or sendbuf.size < slot_words \
                or recvbuf.size < size * slot_words:
            raise ValueError("slot_exchange needs int64 buffers of slot_words and size * slot_words")
        counts = np.full(size, slot_words, dtype=np.int64)
        sdispl = np.zeros(size, dtype=np.int64)  # the same block to every rank, not copied
        rdispl = np.arange(size, dtype=np.int64) * slot_words
        self._comm = comm
        self._args = ([sendbuf, (counts, sdispl), MPI.INT64_T], [recvbuf, (counts, rdispl), MPI.INT64_T])
        self._req = None
        init = getattr(comm, "Alltoallv_init", None)
        if init is not None:
            try:
                self._req = init(*self._args)
            except (NotImplementedError, MPI.Exception):  # MPI < 4: a plain Alltoallv per call
                self._req = None

    def __call__(self):
        if self._req is not None:
            self._req.Start()
            self._req.Wait()
        else:
            self._comm.Alltoallv(*self._args)

    def free(self):
        """Release the persistent request (collective; a no-op after MPI_Finalize)."""
        if self._req is not None and not MPI.Is_finalized():
            self._req.Free()
        self._req = None
