"""Per-arrival-step event lists of a rank: network input on its way to local neurons."""
import numpy as np

from ..kernels.delivery import deliver, scatter


class EventLists:
    """``R_ev`` lists (arrival step % R_ev) of ordinary events (uint32 local target, float32
    weight) and of multiplicity events (uint32 target, float64 weight x multiplicity).
    Capacity grows on demand (by 25% or to what is needed)."""

    def __init__(self, R_ev, capacity=1024):
        self.R_ev = R_ev
        self.ev_n = np.zeros(R_ev, dtype=np.int64)
        self.ev_tgt = np.empty((R_ev, capacity), dtype=np.uint32)
        self.ev_w = np.empty((R_ev, capacity), dtype=np.float32)
        self.mv_n = np.zeros(R_ev, dtype=np.int64)
        self.mv_tgt = np.empty((R_ev, 0), dtype=np.uint32)
        self.mv_val = np.empty((R_ev, 0), dtype=np.float64)

    @property
    def nbytes(self):
        """Bytes held by the lists (allocated capacity)."""
        return sum(a.nbytes for a in (self.ev_tgt, self.ev_w, self.mv_tgt, self.mv_val))

    def deliver(self, gid, stamp, mult, order, syn):
        """Append the events of received spikes (see kernels.delivery.deliver); returns the
        number of synaptic events (int)."""
        while True:
            n_ev, grow_s, grow_m = deliver(gid, stamp, mult, order, syn.row_ptr, syn.tgt, syn.w, syn.d,
                                           self.ev_tgt, self.ev_w, self.ev_n,
                                           self.mv_tgt, self.mv_val, self.mv_n, self.R_ev)
            if grow_s == 0 and grow_m == 0:
                return int(n_ev)
            if grow_s:
                self.ev_tgt, self.ev_w = self._grown(grow_s, self.ev_n, self.ev_tgt, self.ev_w)
            if grow_m:
                self.mv_tgt, self.mv_val = self._grown(grow_m, self.mv_n, self.mv_tgt, self.mv_val)

    def _grown(self, need, counts, *arrays):
        cap = max(need, int(1.25 * arrays[0].shape[1]))
        out = []
        for old in arrays:
            new = np.empty((self.R_ev, cap), dtype=old.dtype)
            for slot in range(self.R_ev):
                new[slot, : counts[slot]] = old[slot, : counts[slot]]
            out.append(new)
        return out

    def scatter(self, t0, nsteps, ring_ex, ring_in, R):
        """Add the lists of steps t0..t0+nsteps-1 into input rows ``s % R`` and empty them."""
        scatter(t0, nsteps, self.ev_tgt, self.ev_w, self.ev_n, self.mv_tgt, self.mv_val, self.mv_n,
                self.R_ev, ring_ex, ring_in, R)

    def records(self, rank, size):
        """Pending events by gid, for checkpoints: dict kind -> (slot int64[], gid int64[],
        value[]) in list order (kind 'single': float32 weights, 'multiple': float64)."""
        out = {}
        for kind, n, tgt, val in (("single", self.ev_n, self.ev_tgt, self.ev_w),
                                  ("multiple", self.mv_n, self.mv_tgt, self.mv_val)):
            slots = np.repeat(np.arange(self.R_ev, dtype=np.int64), n)
            gids = np.concatenate([tgt[s, : n[s]] for s in range(self.R_ev)]).astype(np.int64) * size + rank
            vals = np.concatenate([val[s, : n[s]] for s in range(self.R_ev)])
            out[kind] = (slots, gids, vals)
        return out

    def load(self, records, rank, size):
        """Replace the lists by ``records`` (as from :meth:`records`, possibly written by
        another number of ranks and concatenated in rank order), keeping this rank's events
        in their order: the sums per (step, target) come out as in an uninterrupted run."""
        for kind, n, tgt_name, val_name in (("single", self.ev_n, "ev_tgt", "ev_w"),
                                            ("multiple", self.mv_n, "mv_tgt", "mv_val")):
            slots, gids, vals = records[kind]
            mine = gids % size == rank
            slots, local, vals = slots[mine], gids[mine] // size, vals[mine]
            counts = np.bincount(slots, minlength=self.R_ev)
            n[:] = 0
            tgt, val = getattr(self, tgt_name), getattr(self, val_name)
            if counts.max(initial=0) > tgt.shape[1]:
                tgt, val = self._grown(int(counts.max()), n, tgt, val)
            o = np.argsort(slots, kind="stable")
            start = 0
            for s in range(self.R_ev):
                c = counts[s]
                tgt[s, :c] = local[o[start:start + c]]
                val[s, :c] = vals[o[start:start + c]]
                start += c
            n[:] = counts
            setattr(self, tgt_name, tgt)
            setattr(self, val_name, val)
