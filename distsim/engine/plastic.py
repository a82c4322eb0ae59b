"""The plastic synapses of a rank: their tables (connectivity.plastic), the per-source state,
and the postsynaptic spike histories of the local neurons (NEST's ArchivingNode), with the
two calls the slice loop makes (``Simulation._exchange_and_deliver``): record this rank's
new spikes into the histories, then deliver the received spikes through the plastic
synapses into the float64 event lists (kernels.plastic)."""
import numpy as np

from ..connectivity.plastic import build_plastic
from ..kernels.plastic import PlasticArgs, deliver_table, grow_history, placeholder_args, record_slice
from ..synapses import SYNAPSES

_HIST_CAP0 = 4  # initial history entries per neuron (grown by doubling)


class Plasticity:
    """This rank's plastic projections and postsynaptic histories."""

    def __init__(self, sim):
        net = sim.net
        self._net = net
        self.dt = sim.dt
        self.rank, self.size = sim.rank, sim.size
        self.tables = build_plastic(net, sim.seed, sim.rank, sim.size)
        n = sim.n_local
        self.n_local = n
        n_in = np.zeros(n, np.int64)
        maxd = np.zeros(n, np.int64)
        for t in self.tables:
            if SYNAPSES[t.model].uses_post_history and t.n:
                n_in += np.bincount(t.tgt, minlength=n)[:n]
                np.maximum.at(maxd, t.tgt.astype(np.int64), t.delays())
        # 1 / tau_minus per local neuron (a parameter of the neuron, NEST's ArchivingNode)
        tmi = np.full(n, 1.0 / 20.0)
        for g in sim.groups:
            for pop, (lo, hi, gids) in zip(g.pops, g.bounds):
                v = pop.params.get("tau_minus")
                if v is not None:
                    tmi[lo:hi] = 1.0 / sim._param_array(pop, gids, "tau_minus", v)
        self.min_delay = 0  # set by the simulation once the global min delay is known
        cap = _HIST_CAP0 if n_in.any() else 0
        self.H = (np.zeros((n, cap), np.int64), np.zeros((n, cap)), np.zeros((n, cap), np.int64),
                  np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n), np.zeros(n, np.int64),
                  n_in, maxd, tmi)
        self.any_history = bool(n_in.any())
        self.k_at = np.zeros(n, np.int64)  # K_minus memo of the delivery kernel (scratch)
        self.k_val = np.zeros(n)
        self.consts = [np.array(SYNAPSES[t.model].kernel_constants(t.params), np.float64)
                       for t in self.tables]
        # the delivery kernels' view of each table (the same arrays: in-place changes, such
        # as a checkpoint's load_state, reach them)
        self.args = tuple(self._args(t, c) for t, c in zip(self.tables, self.consts))

    @staticmethod
    def _args(t, c):
        """kernels.plastic.PlasticArgs of table ``t`` with kernel constants ``c``."""
        st = t.src_state
        if SYNAPSES[t.model].uses_post_history:
            a, b = st["Kplus"], np.zeros(0)
        else:
            a, b = st["u"], st["x"]
        return PlasticArgs(np.int64(SYNAPSES[t.model].kind), c, np.int64(t.src_lo), t.row_ptr, t.tgt, t.w, t.d,
                           np.int64(t.d_const), a, b, st["t_last"])

    def loop_args(self):
        """The compiled loop's tables (engine.loop.LoopPlastic.tables): every table's
        PlasticArgs, or one placeholder when there are none."""
        return self.args if self.args else (placeholder_args(),)

    @property
    def nbytes(self):
        """Bytes of the tables, the per-source state and the histories."""
        return sum(t.nbytes for t in self.tables) + sum(a.nbytes for a in self.H)

    @property
    def n(self):
        """Number of local plastic synapses."""
        return sum(t.n for t in self.tables)

    def delay_range(self):
        """(min, max) delay (steps) of the local plastic synapses, (None, None) if none."""
        lo = [t.delay_range()[0] for t in self.tables if t.n]
        hi = [t.delay_range()[1] for t in self.tables if t.n]
        return (min(lo), max(hi)) if lo else (None, None)

    def _grow_history(self, cap):
        self.H = grow_history(self.H, cap)

    def record_post(self, idx, stamp):
        """Add this slice's spikes of local neurons (``idx``, ``stamp``) to the histories."""
        if not self.any_history or idx.size == 0:
            return
        self.H = record_slice(idx, stamp, idx.size, self.H, self.min_delay, self.dt)

    def deliver(self, gid, stamp, order, events):
        """Deliver received spikes (in ``order``) through every plastic projection, in
        projection order, into ``events``' float64 lists. Returns the number of events."""
        total = 0
        R_ev = events.R_ev
        for t in self.args:
            while True:
                pool = events.thread0_pools()[1]  # one thread (Simulation refuses more)
                n_ev, need = deliver_table(t, gid, stamp, order, self.H, self.k_at, self.k_val, self.dt,
                                           pool, R_ev)
                if need == 0:
                    total += int(n_ev)
                    break
                events.reserve_multiple(need)
        return total

    def weights(self, pid):
        """(source gid int64[], target gid int64[], weight float64[]) of this rank's synapses
        of projection ``pid`` (row order)."""
        for t in self.tables:
            if t.pid == pid:
                src = t.src_lo + np.repeat(np.arange(t.n_src, dtype=np.int64), np.diff(t.row_ptr))
                return src, t.tgt.astype(np.int64) * self.size + self.rank, t.w
        raise KeyError(pid)

    # ---------------------------------------------------------------- checkpoints
    def add_state(self, state, groups):
        """Add the plastic state to a ``Simulation.state_dict`` ``state``, keyed by gid so that
        another number of ranks can load it: per population (``state["state"]``) each local
        neuron's ``post:Kminus`` and ``post:last`` (stamp of its last spike) and, for the
        source population of plastic projection ``pid``, ``syn<pid>:<name>`` (the per-source
        state, e.g. Kplus, t_last); as event-like records (``state["pending"]``, sent to the
        rank owning the gid on restore, each gid's records in order): ``plastic<pid>`` =
        (source gid, target gid, weight) of every local synapse in row order, ``hist`` =
        (stamp, gid, K_minus) and ``hist_count`` = (read count, gid, 0) of every history entry
        (oldest first). Returns None."""
        ht, hK, hc, head, hlen, Kminus, last, n_in, maxd, tmi = self.H
        ranges = {}
        for g in groups:
            for k, pop in enumerate(g.pops):
                lo, hi, gids = g.bounds[k]
                ranges[pop.name] = gids
                state["state"][pop.name]["post:Kminus"] = Kminus[lo:hi].copy()
                state["state"][pop.name]["post:last"] = last[lo:hi].copy()
        for t in self.tables:
            src_pop = self._source_pop(t.pid)
            gids = ranges[src_pop]
            for name, arr in t.src_state.items():
                state["state"][src_pop][f"syn{t.pid}:{name}"] = arr[gids - t.src_lo].copy()
            src, tgt, w = self.weights(t.pid)
            state["pending"][f"plastic{t.pid}"] = (src, tgt, w.copy())
        cap = ht.shape[1]
        j = np.repeat(np.arange(self.n_local, dtype=np.int64), hlen)
        off = np.arange(j.size, dtype=np.int64) - np.repeat(np.cumsum(hlen) - hlen, hlen)
        p = (head[j] + off) % max(cap, 1)
        gid = j * self.size + self.rank
        state["pending"]["hist"] = (ht[j, p].copy(), gid, hK[j, p].copy())
        state["pending"]["hist_count"] = (hc[j, p].copy(), gid.copy(), np.zeros(j.size))

    def _source_pop(self, pid):
        return self._net.projections[pid].source

    def load_state(self, state, groups, comm):
        """Set the plastic state from a dict like :meth:`add_state` wrote (possibly by another
        number of ranks; the records already on the ranks that own their gids). Collective:
        the per-source state is gathered from every rank. Returns None."""
        ht, hK, hc, head, hlen, Kminus, last, n_in, maxd, tmi = self.H
        gids_of = {}
        for g in groups:
            for k, pop in enumerate(g.pops):
                lo, hi, gids = g.bounds[k]
                gids_of[pop.name] = gids
                Kminus[lo:hi] = state["state"][pop.name]["post:Kminus"]
                last[lo:hi] = state["state"][pop.name]["post:last"]
        for t in self.tables:
            src_pop = self._source_pop(t.pid)
            for name, arr in t.src_state.items():
                part = (gids_of[src_pop], state["state"][src_pop][f"syn{t.pid}:{name}"])
                for gids, vals in comm.allgather(part):
                    arr[gids - t.src_lo] = vals
            src, tgt, w = state["pending"][f"plastic{t.pid}"]
            my_src, my_tgt, _ = self.weights(t.pid)
            if src.size != my_src.size:
                raise ValueError(f"checkpoint holds {src.size} synapses of projection {t.pid} for "
                                 f"this rank's targets, the network {my_src.size}")
            n = self._net.n_neurons
            a = np.argsort(src * n + tgt, kind="stable")
            b = np.argsort(my_src * n + my_tgt, kind="stable")
            if not np.array_equal((src * n + tgt)[a], (my_src * n + my_tgt)[b]):
                raise ValueError(f"checkpoint synapses of projection {t.pid} differ from the network's")
            t.w[b] = w[a]
        stamps, gid, K = state["pending"]["hist"]
        cnt = state["pending"]["hist_count"][0]
        j = gid // self.size
        counts = np.bincount(j, minlength=self.n_local).astype(np.int64)
        cap = max(int(counts.max()) if counts.size else 0, ht.shape[1])
        if cap > ht.shape[1]:
            self._grow_history(cap)
        ht, hK, hc, head, hlen = self.H[:5]
        head[:] = 0
        hlen[:] = counts
        order = np.argsort(j, kind="stable")  # per neuron, in file (= history) order
        js = j[order]
        pos = np.arange(js.size, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        ht[js, pos] = stamps[order]
        hK[js, pos] = K[order]
        hc[js, pos] = cnt[order]
