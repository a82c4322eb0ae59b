"""Keep recorded spikes and samples in memory; gather them on demand."""
import numpy as np


class MemoryRecorder:
    """Recorder that holds everything in this rank's memory (tests, small runs)."""

    def __init__(self):
        self._gids, self._stamps = [], []
        self._samples = {}  # pop -> list of (gids, stamps, values)

    def begin(self, sim):
        """Nothing to open."""

    def spikes(self, gids, stamps):
        """Keep a copy of this slice's spikes."""
        if gids.size:
            self._gids.append(gids.copy())
            self._stamps.append(stamps.copy())

    def samples(self, pop, gids, stamps, values):
        """Keep a copy of this slice's voltmeter samples."""
        if stamps.size:
            self._samples.setdefault(pop, []).append((gids.copy(), stamps.copy(), values.copy()))

    def after_slice(self, sim, step):
        """Nothing to flush."""

    def close(self, sim):
        """Nothing to close."""

    def local_spikes(self):
        """(gids, stamps) int64 arrays of this rank's spikes, in recording order."""
        if not self._gids:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        return np.concatenate(self._gids), np.concatenate(self._stamps)

    def clear(self):
        """Forget everything recorded so far (e.g. at a reset). Returns None."""
        self._gids, self._stamps = [], []
        self._samples = {}

    def gather_spikes(self, comm, root=None):
        """All ranks' spikes sorted by (gid, stamp) as (gids, stamps); on every rank
        (``root`` None), or on rank ``root`` only (others get None)."""
        g, s = self.local_spikes()
        if root is not None:
            parts = comm.gather((g, s), root=root)
            if comm.rank != root:
                return None
        else:
            parts = comm.allgather((g, s))
        g = np.concatenate([p[0] for p in parts])
        s = np.concatenate([p[1] for p in parts])
        order = np.lexsort((s, g))
        return g[order], s[order]

    def local_samples(self, pop, gids):
        """(gids, stamps, values[t, k]) of one recording's samples on this rank (``gids``: the
        rank's recorded columns, ``Simulation.voltmeter_columns()[pop]``), no communication."""
        mine = self._samples.get(pop, [])
        if not mine:
            return gids, np.empty(0, np.int64), np.empty((0, gids.size))
        return gids, np.concatenate([m[1] for m in mine]), np.concatenate([m[2] for m in mine], axis=0)

    def gather_samples(self, comm, pop, root=None):
        """(gids, stamps, values[t, gid order]) of one recording's samples over all ranks; on
        every rank (``root`` None), or on rank ``root`` only (others get None)."""
        mine = self._samples.get(pop, [])
        if mine:
            gids = mine[0][0]
            stamps = np.concatenate([m[1] for m in mine])
            vals = np.concatenate([m[2] for m in mine], axis=0)
        else:
            gids, stamps, vals = np.empty(0, np.int64), None, None
        if root is not None:
            parts = comm.gather((gids, stamps, vals), root=root)
            if comm.rank != root:
                return None
        else:
            parts = comm.allgather((gids, stamps, vals))
        stamps = next((p[1] for p in parts if p[1] is not None), np.empty(0, np.int64))
        gids = np.concatenate([p[0] for p in parts])
        vals = np.concatenate([p[2] for p in parts if p[2] is not None], axis=1) if gids.size else np.empty((stamps.size, 0))
        order = np.argsort(gids)
        return gids[order], stamps, vals[:, order]
