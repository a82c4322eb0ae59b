"""The spike exchange callable from compiled (numba) code: the seam between the engine's
compiled step loop (``engine.loop``) and the communicator.

A communicator's ``slot_exchange(...)`` object (``MPIComm`` or ``SerialComm``) gives, through
its ``compiled()`` method, a small named tuple (a *handle*) that numba code passes to

- :func:`exchange_slots` ``(h, sendbuf, recvbuf)``: the slot collective of one slice
  (``engine.exchange``: every rank's ``sendbuf[:slot_words]`` into ``recvbuf`` in rank order);
- :func:`exchange_extra` ``(h, sendbuf, send_at, send_n, recv, recv_counts)``: the overflow
  round, ``sendbuf[send_at:send_at + send_n]`` to every rank, rank r's ``recv_counts[r]``
  words into ``recv`` in rank order.

The implementation is chosen at compile time by the handle's type (:class:`SerialSlots`: a
copy; :class:`MpiSlots`: the MPI C library, see ``comm.mpi``), so compiled code stays free of
MPI when it runs serially. Both handle classes live here, not in ``comm.mpi``: numba's cache
index names the argument types of every compiled loop, and reading it must not import mpi4py.
Functions here return an MPI error code (0: success) and raise nothing.
"""
from collections import namedtuple

from numba.extending import overload

#: one rank: the slot is copied (``slot_words`` int64 words)
SerialSlots = namedtuple("SerialSlots", "slot_words")

#: MPI (``comm.mpi``): comm and dtype are the C handles of the communicator and of
#: MPI_INT64_T; req the address of a persistent MPI_Alltoallv request (0: none, a plain
#: MPI_Alltoallv per slice with counts / sdispl / rdispl, int32 per rank); status an int64
#: buffer big enough for one MPI_Status
MpiSlots = namedtuple("MpiSlots", "comm dtype req status counts sdispl rdispl")


def exchange_slots(h, sendbuf, recvbuf):
    """The slot exchange of one slice (see module docstring). Callable from numba only."""
    raise NotImplementedError("exchange_slots is compiled by numba")


def exchange_extra(h, sendbuf, send_at, send_n, recv, recv_counts):
    """The overflow round (see module docstring). Callable from numba only."""
    raise NotImplementedError("exchange_extra is compiled by numba")


@overload(exchange_slots)
def _exchange_slots(h, sendbuf, recvbuf):
    cls = getattr(h, "instance_class", None)
    if cls is SerialSlots:
        def impl(h, sendbuf, recvbuf):
            for i in range(h.slot_words):
                recvbuf[i] = sendbuf[i]
            return 0
        return impl
    if cls is MpiSlots:
        from .mpi import nb_exchange_slots

        def impl(h, sendbuf, recvbuf):
            return nb_exchange_slots(h, sendbuf, recvbuf)
        return impl
    return None


@overload(exchange_extra)
def _exchange_extra(h, sendbuf, send_at, send_n, recv, recv_counts):
    cls = getattr(h, "instance_class", None)
    if cls is SerialSlots:
        def impl(h, sendbuf, send_at, send_n, recv, recv_counts):
            for i in range(send_n):
                recv[i] = sendbuf[send_at + i]
            return 0
        return impl
    if cls is MpiSlots:
        from .mpi import nb_exchange_extra

        def impl(h, sendbuf, send_at, send_n, recv, recv_counts):
            return nb_exchange_extra(h, sendbuf, send_at, send_n, recv, recv_counts)
        return impl
    return None
