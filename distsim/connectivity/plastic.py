"""Per-rank tables of plastic projections (distsim.synapses), one per projection, built for
local targets from the same (seed, projection, target) streams as static ones: a projection
has the same synapses whichever synapse model it uses.

Memory per synapse: uint32 target local index + float64 weight = 12 bytes, plus a uint8
(uint16) delay in steps only when the projection's delay is not a constant. Per source
neuron of the projection: one int64 row pointer and the synapse model's per-source state
(two float64 or int64 values: K_plus and the last spike for STDP; u, x and the last spike for
tsodyks2_synapse).
"""
from dataclasses import dataclass, field

import numpy as np

from ..kernels.connect import COUNT, FILL, sort_rows_by_delay
from ..spec.spatial import is_spatial
from ..synapses import SYNAPSES
from . import projection_plan, run_plan
from .spatial import network_positions


@dataclass
class PlasticTable:
    """Local synapses of one plastic projection, grouped by source: row ``s`` (source gid
    ``src_lo + s``) is ``[row_ptr[s], row_ptr[s+1])``."""

    pid: int
    model: str
    params: dict
    src_lo: int
    row_ptr: np.ndarray  # int64[n_src + 1]
    tgt: np.ndarray  # uint32 local target index
    w: np.ndarray  # float64 weight (the target model's unit)
    d: np.ndarray  # uint8/uint16 delay (steps); empty when every delay is d_const
    d_const: int  # the delay (steps) when the projection's delay is a constant, else -1
    src_state: dict = field(default_factory=dict)  # per source: name -> array[n_src]

    @property
    def n(self):
        """Number of local synapses."""
        return int(self.tgt.shape[0])

    @property
    def n_src(self):
        """Number of source neurons (rows)."""
        return int(self.row_ptr.shape[0] - 1)

    @property
    def nbytes(self):
        """Bytes held by the table (synapses, row pointers, per-source state)."""
        return (self.row_ptr.nbytes + self.tgt.nbytes + self.w.nbytes + self.d.nbytes
                + sum(a.nbytes for a in self.src_state.values()))

    @property
    def synapse_nbytes(self):
        """Bytes held per synapse (target, weight, delay if per synapse), summed."""
        return self.tgt.nbytes + self.w.nbytes + self.d.nbytes

    def delay_range(self):
        """(min, max) delay in steps of the local synapses, or (None, None) when empty."""
        if self.n == 0:
            return None, None
        if self.d_const >= 0:
            return self.d_const, self.d_const
        return int(self.d.min()), int(self.d.max())

    def delays(self):
        """Delay (steps) of every synapse (int64[n])."""
        if self.d_const >= 0:
            return np.full(self.n, self.d_const, np.int64)
        return self.d.astype(np.int64)


def init_source_state(model, params, n_src):
    """Initial per-source state of a synapse model (NEST's initial values): STDP K_plus = 0
    and t_last = 0 ms; tsodyks2 u, x from the parameters and no spike yet (t_last = -1)."""
    if SYNAPSES[model].uses_post_history:
        return {"Kplus": np.zeros(n_src), "t_last": np.zeros(n_src, np.int64)}
    return {"u": np.full(n_src, params["u"]), "x": np.full(n_src, params["x"]),
            "t_last": np.full(n_src, -1, np.int64)}


def build_plastic(net, seed, rank, n_ranks):
    """This rank's table (PlasticTable) of every plastic projection of the validated ``net``,
    in projection order."""
    out = []
    positions = None
    n_total = net.n_neurons
    dt = net.dt_ms
    for pid, pr in enumerate(net.projections):
        if pr.synapse is None:
            continue
        if is_spatial(pr) and positions is None:
            positions = network_positions(net, seed)
        pl = projection_plan(net, seed, pid, rank, n_ranks, positions)
        s_lo, n_src = pl["s_lo"], pl["n_src"]
        counts = np.zeros(n_total + 1, dtype=np.int64)
        overflow = np.zeros(1, dtype=np.int64)
        hi = pr.delay_ms.hi if np.isfinite(pr.delay_ms.hi) else pr.delay_ms.a + 40 * pr.delay_ms.b
        d_dtype = np.uint8 if hi / dt + 0.5 < 255 else np.uint16
        run_plan(pl, COUNT, seed, net, counts, np.empty(0, np.int64), np.empty(0, np.uint32),
                 np.empty(0, np.float64), np.empty(0, d_dtype), overflow)
        row_ptr = np.zeros(n_src + 1, dtype=np.int64)
        np.cumsum(counts[s_lo:s_lo + n_src], out=row_ptr[1:])
        n_syn = int(row_ptr[-1])
        pos = np.zeros(n_total, dtype=np.int64)
        pos[s_lo:s_lo + n_src] = row_ptr[:-1]
        tgt = np.empty(n_syn, np.uint32)
        w = np.empty(n_syn, np.float64)
        d = np.empty(n_syn, d_dtype)
        run_plan(pl, FILL, seed, net, counts, pos, tgt, w, d, overflow)
        if overflow[0]:
            d = np.empty(n_syn, np.uint16)
            pos[s_lo:s_lo + n_src] = row_ptr[:-1]
            overflow[0] = 0
            run_plan(pl, FILL, seed, net, counts, pos, tgt, w, d, overflow)
        del pos, counts
        if n_syn:
            sort_rows_by_delay(row_ptr, tgt, w, d, int(d.max()))
        d_const = -1
        if pr.delay_ms.is_constant:
            d_const = int(np.floor(pr.delay_ms.a / dt + 0.5))
            d = np.empty(0, np.uint8)
        params = {k: v for k, v in pr.synapse.items() if k != "model"}
        out.append(PlasticTable(pid, pr.synapse["model"], params, s_lo, row_ptr, tgt, w, d, d_const,
                                init_source_state(pr.synapse["model"], params, n_src)))
    return out
