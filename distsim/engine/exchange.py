"""The spike exchange of a min-delay slice: one collective, every rank's records to every rank.

Protocol (fixed-capacity slots that carry their own count, as NEST's spike buffers do)::

    slot of a rank = [header, record 0, ..., record C-1]      (1 + 3 C int64 words)
    header         = n | STOP_FLAG if this rank asks to stop   (n: its records this slice)
    record         = (gid, stamp in steps, multiplicity)

Every slice each rank packs its slot and one ``MPI_Alltoallv`` (a persistent request where
MPI-4 has it: ``comm.slot_exchange``) gives every rank every slot. The slot is the same for
every destination (every rank needs every spike: the connectivity lives on the target side),
so it is sent from one buffer with displacement 0 and never copied per rank. A rank with
n > C records sends its first C and the full n in the header. Every rank reads every header
in the same collective, so all know at once whether anyone overflowed and by how much; if so
all join a second ``MPI_Alltoallv`` of exactly the missing records (counts from the headers:
no count exchange), and the capacity grows for the following slices. The capacity changes
only as a function of the headers, which are the same on every rank, so every rank always
agrees on it; grown capacity shrinks again (halved) after SHRINK_AFTER slices in a row whose
fullest slot used at most an eighth of it, so a burst does not fix the buffer size for good.

The stop request (SIGTERM/SIGINT on any rank, ``Simulation.request_stop``) is a bit of the
header: every rank sees it in the same slice's collective and stops after that slice.

Why this scheme rather than carrying the next slice's counts with this slice's records: the
counts of a slice are known only after its update, so carrying them one slice ahead would
delay every spike by a slice (or need a second collective anyway). Fixed slots cost bytes
(P (1 + 3 C) words received per slice even when few spikes are sent) but the exchange of a
0.1 ms slice is latency bound: one collective instead of two halves the latency term, and a
persistent request removes most of the per-call setup. Bit-identity does not depend on the
capacity or on the rounds: the received records are a set (one record per neuron and step)
that the caller sorts by (stamp, gid) before delivery.
"""
import numpy as np

from ..kernels.exchange import pack_slot, unpack_records, unpack_slots

REC_WIDTH = 3  # int64 words per spike record: gid, stamp (steps), multiplicity
HEADER_WORDS = 1  # int64 words before a slot's records: count | flags
STOP_FLAG = np.int64(1) << np.int64(62)  # header bit: "this rank asks every rank to stop"
COUNT_MASK = STOP_FLAG - np.int64(1)  # header bits of the record count
INITIAL_CAPACITY = 32  # records per slot before any growth (every rank the same)
SHRINK_AFTER = 2000  # slices of little use after which a grown capacity is halved


def grown_capacity(capacity, n_max):
    """Capacity (records per slot) after a slice whose fullest slot held ``n_max`` records:
    doubled until it holds n_max with a quarter to spare. Returns an int."""
    c = int(capacity)
    while c < n_max + n_max // 4:
        c *= 2
    return c


class SpikeExchange:
    """Spike exchange of one Simulation on ``comm`` (collective: every rank calls
    :meth:`exchange` once per slice). ``max_records``: most records this rank can emit in a
    slice (its send buffer); ``capacity``: initial records per slot (the same on every rank;
    default INITIAL_CAPACITY).
    """

    def __init__(self, comm, max_records, capacity=None):
        capacity = INITIAL_CAPACITY if capacity is None else capacity
        if int(capacity) < 1:
            raise ValueError(f"capacity must be >= 1 record, got {capacity}")
        self.comm = comm
        self.rank, self.size = comm.rank, comm.size
        self.max_records = max(int(max_records), 1)
        self.initial_capacity = int(capacity)
        self.n_second_rounds = 0  # slices that needed the second round (some slot overflowed)
        self.n_resizes = 0  # capacity changes
        self._quiet = 0  # slices in a row whose fullest slot used <= capacity / 8
        self._op = None
        self._resize(int(capacity))

    @property
    def slot_words(self):
        """int64 words of one slot (header and records)."""
        return HEADER_WORDS + REC_WIDTH * self.capacity

    def _resize(self, capacity):
        """Buffers and collective for ``capacity`` records a slot (collective)."""
        if self._op is not None:
            self._op.free()
        self.capacity = capacity
        size = self.size
        self.sendbuf = np.empty(HEADER_WORDS + REC_WIDTH * max(self.max_records, capacity), np.int64)
        self.recvbuf = np.empty(size * self.slot_words, np.int64)
        self._alloc_out(size * capacity)
        self._op = self.comm.slot_exchange(self.sendbuf, self.slot_words, self.recvbuf)

    def _alloc_out(self, n):
        self.gid = np.empty(n, np.int64)
        self.stamp = np.empty(n, np.int64)
        self.mult = np.empty(n, np.int64)

    def close(self):
        """Release the collective (collective; the object is unusable afterwards)."""
        if self._op is not None:
            self._op.free()
            self._op = None

    def exchange(self, out_idx, out_stamp, out_mult, n_out, stop=False):
        """Send this rank's first ``n_out`` outputs (local index, stamp in steps,
        multiplicity) to every rank and receive every rank's. Returns (gid, stamp, mult,
        stop): int64 arrays of all ranks' records of the slice (an order that depends on the
        capacity; sort before use) and True if any rank passed ``stop``."""
        if n_out > self.max_records:
            raise ValueError(f"{n_out} records exceed the send buffer of {self.max_records}")
        pack_slot(out_idx, out_stamp, out_mult, n_out, self.size, self.rank,
                  STOP_FLAG if stop else np.int64(0), self.sendbuf)
        self._op()
        n, bits, n_max = unpack_slots(self.recvbuf, self.size, self.slot_words, COUNT_MASK,
                                      self.gid, self.stamp, self.mult)
        if n_max > self.capacity:
            n = self._second_round(n)
        out = (self.gid[:n], self.stamp[:n], self.mult[:n], bool(bits & STOP_FLAG))
        self._adapt(int(n_max))  # may replace the buffers: ``out`` keeps this slice's
        return out

    def _second_round(self, n):
        """Exchange the records that did not fit (counts from the headers every rank has);
        returns the number of records now in gid/stamp/mult."""
        self.n_second_rounds += 1
        cap, sw = self.capacity, self.slot_words
        counts = self.recvbuf[::sw][: self.size] & COUNT_MASK
        extra = np.maximum(counts - cap, 0) * REC_WIDTH
        send_counts = np.full(self.size, extra[self.rank], np.int64)
        send_displs = np.full(self.size, HEADER_WORDS + REC_WIDTH * cap, np.int64)
        total = int(extra.sum())
        recv = np.empty(total, np.int64)
        self.comm.alltoallv(self.sendbuf, send_counts, recv, extra, send_displs)
        need = n + total // REC_WIDTH
        if need > self.gid.size:
            old = (self.gid[:n].copy(), self.stamp[:n].copy(), self.mult[:n].copy())
            self._alloc_out(need)
            self.gid[:n], self.stamp[:n], self.mult[:n] = old
        return unpack_records(recv, total // REC_WIDTH, self.gid, self.stamp, self.mult, n)

    def _adapt(self, n_max):
        """Grow after an overflow, shrink after a long quiet stretch (the same decision on
        every rank: ``n_max`` comes from the headers every rank received)."""
        cap = self.capacity
        if n_max > cap:
            self._quiet = 0
            self.n_resizes += 1
            self._resize(grown_capacity(cap, n_max))
            return
        if cap > self.initial_capacity and n_max <= cap // 8:
            self._quiet += 1
            if self._quiet >= SHRINK_AFTER:
                self._quiet = 0
                self.n_resizes += 1
                self._resize(max(self.initial_capacity, cap // 2))
        else:
            self._quiet = 0

    def compiled(self):
        """This exchange's buffers and collective for the compiled loop
        (``engine.loop.LoopExchange``); valid until the next resize or :meth:`close`."""
        from .loop import LoopExchange
        return LoopExchange(self.sendbuf, self.recvbuf, self.gid, self.stamp, self.mult,
                            self.capacity, self.initial_capacity, SHRINK_AFTER, self._op.compiled())

    def resize_to(self, capacity):
        """Change the capacity (collective; every rank with the same value), as :meth:`_adapt`
        does after a decision the compiled loop took. Returns None."""
        self.n_resizes += 1
        self._resize(int(capacity))

    def stats(self):
        """dict: capacity (records per slot now), second_rounds and resizes (counts)."""
        return {"capacity": self.capacity, "second_rounds": self.n_second_rounds,
                "resizes": self.n_resizes}


def warm_kernels():
    """Compile (into numba's cache) every kernel of the exchange, the overflow path included,
    with the argument types a Simulation passes. Returns None."""
    from ..comm.serial import SerialComm

    x = SpikeExchange(SerialComm(), max_records=4, capacity=1)
    idx = np.arange(3, dtype=np.int64)
    for n, stop in ((3, True), (1, False)):
        x.exchange(idx, idx, np.ones(3, np.int64), n, stop)
    x.close()
