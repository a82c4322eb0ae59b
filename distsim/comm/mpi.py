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
