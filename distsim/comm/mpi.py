"""MPI communicator over mpi4py (the only module in distsim that imports mpi4py).

Compiled code and MPI (issue 14). The engine's compiled step loop (``engine.loop``) calls the
spike exchange from numba, through ``comm.compiled``. Two ways were open: the ``numba-mpi``
package, or the MPI C library that mpi4py is linked against, called directly. This module
does the latter, because

- numba-mpi has no MPI_Alltoallv, no MPI_Ialltoallv and no persistent collectives (its
  collectives are send/recv, bcast, allreduce, scatter/gather, barrier), and it works on
  MPI_COMM_WORLD only; the exchange needs Alltoallv on the communicator mpi4py gives us;
- numba-mpi calls MPI through ctypes function pointers, whose addresses numba bakes into the
  machine code, so no function calling them can be cached (numba: "uses dynamic globals");
  every rank of every job would compile the whole step loop again (tens of seconds);
- here a numba intrinsic emits a call to the C symbol by name (``MPI_Start``,
  ``MPI_Alltoallv``...), and :func:`load_libmpi` makes the very library mpi4py loaded (found
  with ``dladdr``) visible to numba's JIT linker (``llvmlite.binding.
  load_library_permanently``). The machine code holds a relocation, not an address, so the
  loop is cached like any other kernel, and it talks to the same MPI instance as mpi4py: the
  communicator, datatype and persistent request are mpi4py's own handles
  (``MPI._handleof``, ``MPI._addressof``); there is no second MPI initialisation.

The C handle types (int in MPICH, pointers in Open MPI) are passed as integers of the size
mpi4py reports (``MPI._sizeof``). Error codes are checked by the caller (MPI_SUCCESS = 0;
mpi4py sets MPI_ERRORS_RETURN on COMM_WORLD, so an MPI error comes back as a code and the
engine raises, which ends the job through ``distsim.cli``'s abort).
"""
import ctypes
import time as _time

import numpy as np
from llvmlite import ir
from mpi4py import MPI
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from .compiled import MpiSlots

_LIBMPI = None


def load_libmpi():
    """Make the MPI library of mpi4py visible to numba's JIT linker (once). Returns its path."""
    global _LIBMPI
    if _LIBMPI is None:
        import llvmlite.binding as llvm

        class _DlInfo(ctypes.Structure):
            _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                        ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]

        lib = ctypes.CDLL(MPI.__file__)  # dlsym searches mpi4py's dependencies: libmpi
        addr = ctypes.cast(lib.MPI_Alltoallv, ctypes.c_void_p).value
        info = _DlInfo()
        libc = ctypes.CDLL(None)
        libc.dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
        if not libc.dladdr(ctypes.c_void_p(addr), ctypes.byref(info)) or not info.dli_fname:
            raise RuntimeError("cannot find the MPI library mpi4py uses (dladdr failed)")
        path = info.dli_fname.decode()
        llvm.load_library_permanently(path)
        _LIBMPI = path
    return _LIBMPI


_BITS = {"h": 8 * MPI._sizeof(MPI.Comm), "d": 8 * MPI._sizeof(MPI.Datatype)}


def _c_function(name, kinds):
    """A numba intrinsic ``f((a0, a1, ...))`` calling the C function ``int name(...)`` by
    symbol; the int64 arguments become, per letter of ``kinds``: p a pointer (an address),
    h a communicator handle, d a datatype handle. Returns the int error code."""
    @intrinsic
    def call(typingctx, args):
        if not isinstance(args, types.UniTuple) or len(args) != len(kinds) \
                or not isinstance(args.dtype, types.Integer):
            return None

        def codegen(context, builder, signature, llargs):
            vals, tys = [], []
            for i, k in enumerate(kinds):
                v = builder.extract_value(llargs[0], i)
                if k == "p":
                    t = ir.IntType(8).as_pointer()
                    v = builder.inttoptr(v, t)
                else:
                    t = ir.IntType(_BITS[k])
                    if _BITS[k] < 64:
                        v = builder.trunc(v, t)
                vals.append(v)
                tys.append(t)
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), tys), name)
            return builder.call(fn, vals)
        return types.int32(args), codegen
    return call


_mpi_start = _c_function("MPI_Start", "p")
_mpi_wait = _c_function("MPI_Wait", "pp")
_mpi_alltoallv = _c_function("MPI_Alltoallv", "pppdpppdh")


@njit(cache=True)
def nb_exchange_slots(h, sendbuf, recvbuf):
    """The slot exchange (``comm.compiled.exchange_slots``) over MPI: start and wait on the
    persistent request, or one MPI_Alltoallv. Returns the MPI error code."""
    if h.req != 0:
        err = _mpi_start((h.req,))
        if err == 0:
            err = _mpi_wait((h.req, np.int64(h.status.ctypes.data)))
        return err
    return _mpi_alltoallv((np.int64(sendbuf.ctypes.data), np.int64(h.counts.ctypes.data),
                           np.int64(h.sdispl.ctypes.data), h.dtype, np.int64(recvbuf.ctypes.data),
                           np.int64(h.counts.ctypes.data), np.int64(h.rdispl.ctypes.data), h.dtype,
                           h.comm))


@njit(cache=True)
def nb_exchange_extra(h, sendbuf, send_at, send_n, recv, recv_counts):
    """The overflow round (``comm.compiled.exchange_extra``): one MPI_Alltoallv. Returns the
    MPI error code."""
    size = recv_counts.shape[0]
    sc = np.full(size, send_n, np.int32)
    sd = np.full(size, send_at, np.int32)
    rc = np.empty(size, np.int32)
    rd = np.empty(size, np.int32)
    a = 0
    for r in range(size):
        rc[r] = recv_counts[r]
        rd[r] = a
        a += recv_counts[r]
    if recv.shape[0] == 0:  # a valid address even for an empty buffer
        recv = np.empty(1, np.int64)
    return _mpi_alltoallv((np.int64(sendbuf.ctypes.data), np.int64(sc.ctypes.data), np.int64(sd.ctypes.data),
                           h.dtype, np.int64(recv.ctypes.data), np.int64(rc.ctypes.data),
                           np.int64(rd.ctypes.data), h.dtype, h.comm))


class MPIComm:
    """COMM_WORLD with the collectives distsim uses; hot-path ones on numpy buffers."""

    def __init__(self, comm=None):
        self.mpi_comm = comm if comm is not None else MPI.COMM_WORLD
        self.rank = self.mpi_comm.Get_rank()
        self.size = self.mpi_comm.Get_size()

    def _arrive(self):
        """Wait, without spinning, until every rank has reached this collective.

        MPICH (ch4:ucx here) busy-polls inside a blocking collective, so ranks that wait for
        rank 0 (writing a file, building a reference) take CPU time from it; on a shared or
        oversubscribed node that made rank 0 several times slower. A non-blocking barrier
        tested with growing sleeps (10 us to 5 ms) leaves the cores to the ranks that work.
        Only for the build, output and control collectives, never for the per-step exchange."""
        if self.size == 1:
            return
        req = self.mpi_comm.Ibarrier()
        pause = 1e-5
        while not req.Test():
            _time.sleep(pause)
            pause = min(2 * pause, 5e-3)

    def barrier(self):
        """Block until every rank arrives (sleeping, not spinning, while it waits)."""
        self._arrive()

    def allreduce_sum(self, x):
        """Sum over ranks of a number or numpy array."""
        self._arrive()
        if isinstance(x, np.ndarray):
            out = np.empty_like(x)
            self.mpi_comm.Allreduce(x, out, op=MPI.SUM)
            return out
        return self.mpi_comm.allreduce(x, op=MPI.SUM)

    def allreduce_max(self, x):
        """Maximum over ranks of a number."""
        self._arrive()
        return self.mpi_comm.allreduce(x, op=MPI.MAX)

    def allreduce_min(self, x):
        """Minimum over ranks of a number."""
        self._arrive()
        return self.mpi_comm.allreduce(x, op=MPI.MIN)

    def exscan_sum(self, x):
        """Exclusive prefix sum over ranks of an int; 0 on rank 0."""
        r = self.mpi_comm.exscan(int(x), op=MPI.SUM)
        return 0 if r is None else int(r)

    def bcast(self, obj, root=0):
        """Broadcast a Python object from root."""
        self._arrive()
        return self.mpi_comm.bcast(obj, root=root)

    def allgather(self, obj):
        """List of every rank's object."""
        self._arrive()
        return self.mpi_comm.allgather(obj)

    def gather(self, obj, root=0):
        """List of every rank's object on root, None elsewhere."""
        self._arrive()
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
        self._bufs = (sendbuf, recvbuf, counts.astype(np.int32), sdispl.astype(np.int32),
                      rdispl.astype(np.int32))
        self._status = np.zeros(MPI._sizeof(MPI.Status) // 8 + 1, np.int64)
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

    def compiled(self):
        """The handle of this exchange for compiled code (``comm.compiled.MpiSlots``): valid
        while this object lives and is not freed; the buffers are the ones given here."""
        load_libmpi()
        _, _, c, sd, rd = self._bufs
        req = MPI._addressof(self._req) if self._req is not None else 0
        return MpiSlots(int(MPI._handleof(self._comm)), int(MPI._handleof(MPI.INT64_T)), int(req),
                        self._status, c, sd, rd)

    def free(self):
        """Release the persistent request (collective; a no-op after MPI_Finalize)."""
        if self._req is not None and not MPI.Is_finalized():
            self._req.Free()
        self._req = None
