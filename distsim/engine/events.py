"""Per-arrival-step event lists of a rank: network input on its way to local neurons."""
import numpy as np

from ..kernels.delivery import (deliver, deliver_parts, partition_rows, pool_dump, pool_load, scatter,
                                scatter_parts)

CHUNK = 1024  # events per chunk


def _pool(R_ev, n_chunks, val_dtype, T=1):
    """An empty event pool (see kernels.delivery) for each of T threads, stacked (a leading
    thread axis on every array), with ``n_chunks`` free chunks each."""
    return (np.empty((T, n_chunks, CHUNK), np.uint32), np.empty((T, n_chunks, CHUNK), val_dtype),
            np.full((T, n_chunks), -1, np.int64), np.full((T, R_ev), -1, np.int64),
            np.full((T, R_ev), -1, np.int64), np.zeros((T, R_ev), np.int64),
            np.tile(np.arange(n_chunks, dtype=np.int64)[::-1], (T, 1)),
            np.full((T, 1), n_chunks, np.int64))


def _grow(pool, n_free_needed):
    """The stacked pool with at least ``n_free_needed`` free chunks for every thread (grown
    by 25% or as needed)."""
    ctgt, cval, nxt, head, tail, fill, free, n_free = pool
    T, nc = ctgt.shape[0], ctgt.shape[1]
    add = max(n_free_needed - int(n_free.min()), nc // 4, 1)
    ctgt2 = np.empty((T, nc + add, CHUNK), ctgt.dtype)
    cval2 = np.empty((T, nc + add, CHUNK), cval.dtype)
    ctgt2[:, :nc] = ctgt
    cval2[:, :nc] = cval
    nxt2 = np.full((T, nc + add), -1, np.int64)
    nxt2[:, :nc] = nxt
    free2 = np.empty((T, nc + add), np.int64)
    n_free2 = n_free + add
    for t in range(T):
        k = int(n_free[t, 0])
        free2[t, :k] = free[t, :k]
        free2[t, k:k + add] = np.arange(nc + add - 1, nc - 1, -1)
    return (ctgt2, cval2, nxt2, head, tail, fill, free2, n_free2)


def _parts(pool):
    """Each thread's pool: tuples of views (the ordinary pools of kernels.delivery)."""
    return [tuple(a[t] for a in pool) for t in range(pool[0].shape[0])]


def target_bounds(syn, n_local, T):
    """int64[T+1]: T contiguous parts of the local targets with about as many synapses each
    (the events a thread delivers follow its targets' in-degrees); equal numbers of targets
    when there are no synapses."""
    if T == 1 or syn is None or syn.n == 0:
        return np.array([t * n_local // T for t in range(T + 1)], dtype=np.int64)
    cum = np.cumsum(np.bincount(syn.tgt, minlength=n_local))
    b = np.searchsorted(cum, cum[-1] * np.arange(1, T) / T, side="left") + 1
    b = np.minimum(b, n_local)
    return np.concatenate(([0], np.maximum.accumulate(b), [n_local])).astype(np.int64)


class EventLists:
    """``R_ev`` lists (arrival step % R_ev) of ordinary events (uint32 local target, float32
    weight: 8 bytes an event) and of multiplicity events (uint32 target, float64 weight x
    multiplicity), kept in chunks of CHUNK events that are recycled after their step.

    With ``threads`` T > 1 the local targets are split into T contiguous parts
    (:func:`target_bounds`), thread t owns the lists of part t, and ``syn``'s rows are
    reordered by part (``kernels.delivery.partition_rows``: stable, so each target's
    synapses keep their order); delivery and scatter run on T threads. Every target's
    events are summed in the same order for any T (see kernels.delivery).
    """

    def __init__(self, R_ev, syn=None, n_local=0, threads=1):
        self.R_ev = R_ev
        self.threads = T = int(threads)
        self.bounds = target_bounds(syn, n_local, T)
        self.sp = None
        if T > 1 and syn is not None:
            self.sp = partition_rows(syn.row_ptr, syn.tgt, syn.w, syn.d, self.bounds)
        self._empty()

    def _empty(self):
        self.single = _pool(self.R_ev, 2 * self.R_ev, np.float32, self.threads)
        self.multiple = _pool(self.R_ev, 0, np.float64, self.threads)
        self._views()

    def _views(self):
        # cached: building 16 views per call would cost microseconds a slice
        self._single = _parts(self.single)
        self._multiple = _parts(self.multiple)

    @property
    def nbytes(self):
        """Bytes held by the chunk pools."""
        return sum(a.nbytes for p in (self.single, self.multiple) for a in p)

    def deliver(self, gid, stamp, mult, order, syn):
        """Append the events of received spikes (see kernels.delivery.deliver); returns the
        number of synaptic events (int)."""
        while True:
            if self.threads == 1:
                n_ev, need_s, need_m = deliver(gid, stamp, mult, order, syn.row_ptr, syn.tgt, syn.w, syn.d,
                                               self._single[0], self._multiple[0], self.R_ev)
            else:
                n_ev, need_s, need_m = deliver_parts(gid, stamp, mult, order, self.sp, syn.tgt, syn.w,
                                                     syn.d, self.single, self.multiple, self.R_ev)
            if need_s == 0 and need_m == 0:
                return int(n_ev)
            if self.single[7].min() < need_s:
                self.single = _grow(self.single, need_s)
            if self.multiple[7].min() < need_m:
                self.multiple = _grow(self.multiple, need_m)
            self._views()

    def reserve_multiple(self, n_free):
        """Make sure every thread's multiplicity pool (float64 values; plastic synapses
        deliver into it too) has at least ``n_free`` free chunks. Returns thread 0's pool."""
        if int(self.multiple[7].min()) < n_free:
            self.multiple = _grow(self.multiple, n_free)
            self._views()
        return self._multiple[0]

    def thread0_pools(self):
        """(single, multiple): thread 0's pools (the whole lists when threads == 1), as the
        one-thread kernels (kernels.delivery, kernels.plastic, engine.loop) take them."""
        return self._single[0], self._multiple[0]

    def set_thread0_pools(self, single, multiple):
        """Take back one-thread pools (possibly grown by a kernel); threads == 1 only."""
        assert self.threads == 1, "one-thread pools given to threaded event lists"
        self.single = tuple(a[None] for a in single)
        self.multiple = tuple(a[None] for a in multiple)
        self._views()

    def scatter(self, t0, nsteps, ring_ex, ring_in, R):
        """Add the lists of steps t0..t0+nsteps-1 into input rows ``s % R`` and empty them."""
        if self.threads == 1:
            scatter(t0, nsteps, self._single[0], self._multiple[0], self.R_ev, ring_ex, ring_in, R)
        else:
            scatter_parts(t0, nsteps, self.single, self.multiple, self.R_ev, ring_ex, ring_in, R)

    def records(self, rank, size):
        """Pending events by gid, for checkpoints: dict kind ('single', 'multiple') ->
        (slot int64[], gid int64[], value float64[]), each target's in list order (threads
        one after the other: a target's events are all in its thread's lists)."""
        out = {}
        for kind, parts in (("single", self._single), ("multiple", self._multiple)):
            dumps = [pool_dump(p, self.R_ev) for p in parts]
            slots, tgt, val = (np.concatenate([x[i] for x in dumps]) for i in range(3))
            out[kind] = (slots, tgt * size + rank, val)
        return out

    def load(self, records, rank, size):
        """Replace the lists by ``records`` (as from :meth:`records`, possibly written by
        another number of ranks or threads and concatenated in rank order), keeping this
        rank's events of each target in their order: the sums per (step, target) come out
        as in an uninterrupted run."""
        self._empty()
        for kind in ("single", "multiple"):
            slots, gids, vals = records[kind]
            mine = gids % size == rank
            slots, local, vals = slots[mine], gids[mine] // size, vals[mine].astype(np.float64)
            # (lists built without a synapse table know no targets: all go to part 0)
            part = np.clip(np.searchsorted(self.bounds, local, side="right") - 1, 0, self.threads - 1)
            counts = np.bincount(part, minlength=self.threads)
            need = int(counts.max()) // CHUNK + self.R_ev + 1 if counts.size else 0
            pool = getattr(self, kind)
            if pool[7].min() < need:
                pool = _grow(pool, need)
            setattr(self, kind, pool)
            self._views()
            for t, p in enumerate(getattr(self, "_" + kind)):
                m = part == t
                pool_load(p, slots[m], local[m], vals[m])
