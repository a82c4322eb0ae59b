"""Per-arrival-step event lists of a rank: network input on its way to local neurons."""
import numpy as np

from ..kernels.delivery import deliver, pool_dump, pool_load, scatter

CHUNK = 1024  # events per chunk


def _pool(R_ev, n_chunks, val_dtype):
    """An empty event pool (see kernels.delivery) with ``n_chunks`` free chunks."""
    return (np.empty((n_chunks, CHUNK), np.uint32), np.empty((n_chunks, CHUNK), val_dtype),
            np.full(n_chunks, -1, np.int64), np.full(R_ev, -1, np.int64), np.full(R_ev, -1, np.int64),
            np.zeros(R_ev, np.int64), np.arange(n_chunks, dtype=np.int64)[::-1].copy(),
            np.array([n_chunks], np.int64))


def _grow(pool, n_free_needed):
    """The pool with at least ``n_free_needed`` free chunks (grown by 25% or as needed)."""
    ctgt, cval, nxt, head, tail, fill, free, n_free = pool
    nc = ctgt.shape[0]
    add = max(n_free_needed - int(n_free[0]), nc // 4, 1)
    ctgt2 = np.empty((nc + add, CHUNK), ctgt.dtype)
    cval2 = np.empty((nc + add, CHUNK), cval.dtype)
    ctgt2[:nc] = ctgt
    cval2[:nc] = cval
    nxt2 = np.full(nc + add, -1, np.int64)
    nxt2[:nc] = nxt
    free2 = np.empty(nc + add, np.int64)
    k = int(n_free[0])
    free2[:k] = free[:k]
    free2[k:k + add] = np.arange(nc + add - 1, nc - 1, -1)
    return (ctgt2, cval2, nxt2, head, tail, fill, free2, np.array([k + add], np.int64))


class EventLists:
    """``R_ev`` lists (arrival step % R_ev) of ordinary events (uint32 local target, float32
    weight: 8 bytes an event) and of multiplicity events (uint32 target, float64 weight x
    multiplicity), kept in chunks of CHUNK events that are recycled after their step."""

    def __init__(self, R_ev):
        self.R_ev = R_ev
        self.single = _pool(R_ev, 2 * R_ev, np.float32)
        self.multiple = _pool(R_ev, 0, np.float64)

    @property
    def nbytes(self):
        """Bytes held by the chunk pools."""
        return sum(a.nbytes for p in (self.single, self.multiple) for a in p)

    def deliver(self, gid, stamp, mult, order, syn):
        """Append the events of received spikes (see kernels.delivery.deliver); returns the
        number of synaptic events (int)."""
        while True:
            n_ev, need_s, need_m = deliver(gid, stamp, mult, order, syn.row_ptr, syn.tgt, syn.w, syn.d,
                                           self.single, self.multiple, self.R_ev)
            if need_s == 0 and need_m == 0:
                return int(n_ev)
            if self.single[7][0] < need_s:
                self.single = _grow(self.single, need_s)
            if self.multiple[7][0] < need_m:
                self.multiple = _grow(self.multiple, need_m)

    def reserve_multiple(self, n_free):
        """Make sure the multiplicity pool (float64 values; plastic synapses deliver into it
        too) has at least ``n_free`` free chunks. Returns the pool."""
        if self.multiple[7][0] < n_free:
            self.multiple = _grow(self.multiple, n_free)
        return self.multiple

    def scatter(self, t0, nsteps, ring_ex, ring_in, R):
        """Add the lists of steps t0..t0+nsteps-1 into input rows ``s % R`` and empty them."""
        scatter(t0, nsteps, self.single, self.multiple, self.R_ev, ring_ex, ring_in, R)

    def records(self, rank, size):
        """Pending events by gid, for checkpoints: dict kind ('single', 'multiple') ->
        (slot int64[], gid int64[], value float64[]) in list order."""
        out = {}
        for kind, pool in (("single", self.single), ("multiple", self.multiple)):
            slots, tgt, val = pool_dump(pool, self.R_ev)
            out[kind] = (slots, tgt * size + rank, val)
        return out

    def load(self, records, rank, size):
        """Replace the lists by ``records`` (as from :meth:`records`, possibly written by
        another number of ranks and concatenated in rank order), keeping this rank's events
        in their order: the sums per (step, target) come out as in an uninterrupted run."""
        self.single = _pool(self.R_ev, 2 * self.R_ev, np.float32)
        self.multiple = _pool(self.R_ev, 0, np.float64)
        for kind in ("single", "multiple"):
            slots, gids, vals = records[kind]
            mine = gids % size == rank
            slots, local, vals = slots[mine], gids[mine] // size, vals[mine].astype(np.float64)
            pool = getattr(self, kind)
            need = slots.size // CHUNK + self.R_ev + 1
            if pool[7][0] < need:
                pool = _grow(pool, need)
            pool_load(pool, slots, local, vals)
            setattr(self, kind, pool)
