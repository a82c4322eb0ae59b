"""Per-rank synapse tables built for local targets only, grouped by source (CSR).

Memory per synapse: uint32 target local index + float32 weight + uint8 (or uint16) delay in
steps = 9 (10) bytes, plus one int64 row pointer per neuron of the network.
"""
from dataclasses import dataclass

import numpy as np

from ..kernels.connect import (COUNT, ERR_NO_SOURCE, FILL, RULE_ALL_TO_ALL, RULE_FIXED_INDEGREE,
                               RULE_FIXED_TOTAL_NUMBER, RULE_ONE_TO_ONE,
                               RULE_PAIRWISE_BERNOULLI, generate_projection,
                               generate_spatial_projection, sort_rows_by_delay,
                               total_number_split)
from ..partition import local_gids
from ..spec.spatial import Profile, is_spatial, pool_positions
from ..spec.values import bounds
from .spatial import network_positions

RULE_CODES = {"fixed_indegree": RULE_FIXED_INDEGREE, "fixed_total_number": RULE_FIXED_TOTAL_NUMBER,
              "pairwise_bernoulli": RULE_PAIRWISE_BERNOULLI, "all_to_all": RULE_ALL_TO_ALL,
              "one_to_one": RULE_ONE_TO_ONE}


@dataclass
class SynapseTable:
    """Local synapses grouped by source gid: row ``g`` is ``[row_ptr[g], row_ptr[g+1])``."""

    row_ptr: np.ndarray  # int64[n_neurons + 1]
    tgt: np.ndarray  # uint32 local target index
    w: np.ndarray  # float32 weight (mV or pA, the target model's unit)
    d: np.ndarray  # uint8/uint16 delay (steps)

    @property
    def n(self):
        """Number of local synapses."""
        return int(self.tgt.shape[0])

    @property
    def nbytes(self):
        """Bytes held by the table."""
        return self.row_ptr.nbytes + self.tgt.nbytes + self.w.nbytes + self.d.nbytes

    def delay_range(self):
        """(min, max) delay in steps of the local synapses, or (None, None) when empty."""
        if self.n == 0:
            return None, None
        return int(self.d.min()), int(self.d.max())


def _delay_steps_max(pr, dt):
    """Largest delay (steps) a projection can draw; an unbounded normal counts as its mean
    (the fill pass detects the rare draw that does not fit the chosen dtype)."""
    lo, hi = bounds(pr.delay_ms)
    return (hi if hi != float("inf") else pr.delay_ms.mean()) / dt + 0.5


def build_synapses(net, seed, rank, n_ranks, progress=None):
    """Generate this rank's synapses of every projection of the validated ``net``.

    Streams are keyed by (seed, projection index, target gid), so the table holds the same
    synapses for a given target whatever the number of ranks. ``progress(stage, i, n)``, if
    given, is called before projection i of n in each pass ("planning": the split of
    fixed_total_number synapses over targets, "counting", "filling").
    Returns a SynapseTable.
    """
    dt = net.dt_ms
    plans = []
    positions = None
    for pid, pr in enumerate(net.projections):
        if progress is not None:
            progress("planning", pid, len(net.projections))
        if pr.synapse is not None:  # plastic: its own table (connectivity.plastic)
            continue
        if is_spatial(pr) and positions is None:
            positions = network_positions(net, seed)
        plans.append(projection_plan(net, seed, pid, rank, n_ranks, positions))
    n_total = net.n_neurons
    # delays as uint8 steps (9 bytes a synapse); a network with a delay above 255 steps is
    # generated again with uint16 (overflow is detected while filling)
    max_steps = max([_delay_steps_max(pr, dt) for pr in net.projections if pr.synapse is None] + [0])
    d_dtype = np.uint8 if max_steps < 255 else np.uint16
    counts = np.zeros(n_total + 1, dtype=np.int64)
    empty_u32 = np.empty(0, np.uint32)
    empty_f32 = np.empty(0, np.float32)
    empty_d = np.empty(0, d_dtype)
    empty_pos = np.empty(0, np.int64)

    overflow = np.zeros(1, dtype=np.int64)

    def run(mode, pos, tgt, w, d):
        for i, pl in enumerate(plans):
            if progress is not None:
                progress("counting" if mode == COUNT else "filling", pl["pid"], len(net.projections))
            run_plan(pl, mode, seed, net, counts, pos, tgt, w, d, overflow)

    run(COUNT, empty_pos, empty_u32, empty_f32, empty_d)
    row_ptr = np.zeros(n_total + 1, dtype=np.int64)
    np.cumsum(counts[:n_total], out=row_ptr[1:])
    del counts
    n_syn = int(row_ptr[-1])
    tgt = np.empty(n_syn, dtype=np.uint32)
    w = np.empty(n_syn, dtype=np.float32)
    d = np.empty(n_syn, dtype=d_dtype)
    pos = row_ptr[:-1].copy()
    counts = np.zeros(1, dtype=np.int64)
    run(FILL, pos, tgt, w, d)
    if overflow[0] and d.dtype == np.uint8:  # a drawn delay exceeds 255 steps: widen
        d = np.empty(n_syn, dtype=np.uint16)
        pos[:] = row_ptr[:-1]
        run(FILL, pos, tgt, w, d)
    if overflow[0] and d.dtype == np.uint16 and int(d.max()) == 65535:
        from ..spec import SpecError
        raise SpecError("delay_ms", f">= {65535 * dt} ms", "delays must be below 65535 steps")
    del pos
    if n_syn:
        sort_rows_by_delay(row_ptr, tgt, w, d, int(d.max()))
    return SynapseTable(row_ptr, tgt, w, d)


def projection_plan(net, seed, pid, rank, n_ranks, positions=None):
    """What generating projection ``pid``'s local synapses needs (a dict of arrays and
    scalars for :func:`run_plan`); ``positions``: network_positions for a spatial one."""
    pr = net.projections[pid]
    ranges = net.gid_ranges()
    s_lo, s_hi = ranges[pr.source]
    t_lo, t_hi = ranges[pr.target]
    if pr.rule == "from_list":
        return dict(_list_plan(pr, pid, s_lo, t_lo, rank, n_ranks), s_lo=s_lo, n_src=s_hi - s_lo)
    tg = local_gids(t_lo, t_hi, rank, n_ranks)
    rule = RULE_CODES[pr.rule]
    counts_t = np.zeros(1, dtype=np.int64)
    n_src = s_hi - s_lo
    if rule == RULE_FIXED_TOTAL_NUMBER:
        counts_t = total_number_split(seed, pid, pr.n_total, t_hi - t_lo)
        buf = int(counts_t.max()) if counts_t.size else 0
    elif rule == RULE_FIXED_INDEGREE:
        buf = pr.indegree
    elif rule == RULE_ONE_TO_ONE:
        buf = 1
    else:
        buf = n_src
    plan = dict(pid=pid, rule=rule, s_lo=s_lo, n_src=n_src, t_lo=t_lo, tg=tg,
                tl=(tg // n_ranks).astype(np.int64), k=pr.indegree or 0,
                p=pr.p if pr.p is not None else 0.0, counts_t=counts_t,
                aa=pr.allow_autapses, am=pr.allow_multapses,
                wspec=np.array(pr.weight.as_array_spec()),
                dspec=np.array(pr.delay_ms.as_array_spec()),
                srcbuf=np.empty(max(buf, 1), dtype=np.int64),
                marker=np.zeros(n_src if not pr.allow_multapses else 1, dtype=np.int64))
    if is_spatial(pr):
        plan.update(_spatial_plan(net, pr, positions, buf))
    return plan


def run_plan(pl, mode, seed, net, counts, pos, tgt, w, d, overflow):
    """One pass (COUNT or FILL) of a planned projection into (counts) or (pos, tgt, w, d):
    see kernels.connect.generate_projection. Returns None."""
    dt = net.dt_ms
    max_code = int(np.iinfo(d.dtype).max)
    if "list_src" in pl:
        _run_list(pl, mode, dt, counts, pos, tgt, w, d, max_code, overflow)
        return
    pl["marker"][:] = 0
    if "src_pos" in pl:
        _run_spatial(pl, mode, seed, net, dt, counts, pos, tgt, w, d, max_code, overflow)
        return
    generate_projection(mode, pl["rule"], seed, pl["pid"], pl["s_lo"], pl["n_src"],
                        pl["t_lo"], pl["tg"], pl["tl"], pl["k"], pl["p"], pl["counts_t"],
                        pl["aa"], pl["am"], pl["wspec"], pl["dspec"], 1.0 / dt,
                        counts, pos, tgt, w, d, pl["srcbuf"], pl["marker"],
                        max_code, overflow)


def _spatial_plan(net, pr, positions, buf):
    """The extra arrays a spatial projection's kernel needs (positions, profile, mask...)."""
    src, tgt = net.population(pr.source), net.population(pr.target)
    n_src = src.n
    ndim = src.positions.ndim
    pool = pool_positions(pr, src, tgt)
    if isinstance(pr.p, Profile):
        prof = pr.p.as_array_spec()
    else:  # a constant p (pairwise_bernoulli) or none (fixed_indegree: uniform in the mask)
        prof = (0.0, 1.0 if pr.p is None or pr.rule == "fixed_indegree" else float(pr.p), 0.0, 0.0)
    mask = pr.mask.as_array_spec(ndim) if pr.mask is not None else [0.0, 0.0] + [0.0] * (2 * ndim)
    k_cand = n_src if pr.rule == "fixed_indegree" else 1
    return dict(src_pos=positions[pr.source], tgt_pos=positions[pr.target],
                extent=np.array(pool.extent), wrap=bool(pool.edge_wrap),
                prof=np.array(prof, dtype=np.float64), mask=np.array(mask, dtype=np.float64),
                distbuf=np.empty(max(buf, 1)), cand=np.empty(k_cand, np.int64),
                cand_p=np.empty(k_cand), cand_d=np.empty(k_cand), err=np.zeros(3, np.int64),
                label=f"projections[{net.projections.index(pr)}]({pr.source}->{pr.target})",
                tgt_name=tgt.name)


def _run_spatial(pl, mode, seed, net, dt, counts, pos, tgt, w, d, max_code, overflow):
    """One pass of a spatial projection; SpecError when a target has too few sources."""
    n = generate_spatial_projection(mode, pl["rule"], seed, pl["pid"], pl["s_lo"], pl["src_pos"],
                                    pl["t_lo"], pl["tgt_pos"], pl["tg"], pl["tl"], pl["k"],
                                    pl["prof"], pl["mask"], pl["extent"], pl["wrap"], pl["aa"],
                                    pl["am"], pl["wspec"], pl["dspec"], 1.0 / dt, counts, pos,
                                    tgt, w, d, pl["srcbuf"], pl["distbuf"], pl["cand"],
                                    pl["cand_p"], pl["cand_d"], pl["marker"], max_code, overflow,
                                    pl["err"])
    if n < 0:
        from ..spec import SpecError
        code, t, m = (int(x) for x in pl["err"])
        node = t - pl["t_lo"]
        if code == ERR_NO_SOURCE:
            raise SpecError(f"{pl['label']}.indegree", pl["k"],
                            f"target {pl['tgt_name']}[{node}] has no source with p > 0 inside the mask")
        raise SpecError(f"{pl['label']}.indegree", pl["k"],
                        f"target {pl['tgt_name']}[{node}] has only {m} sources with p > 0 inside the mask; "
                        "without multapses the in-degree must be <= that (allow_multapses = true, or a "
                        "wider mask/profile)")


def _list_plan(pr, pid, s_lo, t_lo, rank, n_ranks):
    """Plan of a from_list projection: its listed connections onto this rank's targets, in
    list order (so a target's synapses are the same, in the same order, for any number of
    ranks)."""
    c = pr.connections
    src = np.asarray(c["source"], dtype=np.int64) + s_lo
    tgt = np.asarray(c["target"], dtype=np.int64) + t_lo
    m = src.size
    w = np.asarray(c["weight"], np.float64) if c.get("weight") is not None else np.full(m, pr.weight.a)
    d = np.asarray(c["delay_ms"], np.float64) if c.get("delay_ms") is not None else np.full(m, pr.delay_ms.a)
    if c.get("weight") is None and not pr.weight.is_constant or c.get("delay_ms") is None and not pr.delay_ms.is_constant:
        from ..spec import SpecError
        raise SpecError(f"projections[{pid}].connections", "weight/delay_ms",
                        "from_list needs one weight and delay per connection, or constant ones")
    local = tgt % n_ranks == rank
    return dict(pid=pid, list_src=src[local], list_tl=tgt[local] // n_ranks, list_w=w[local], list_d=d[local])


def _run_list(pl, mode, dt, counts, pos, tgt, w, d, max_code, overflow):
    """One pass of a from_list projection (as kernels.connect.generate_projection: COUNT adds
    to ``counts[source gid]``, FILL writes at ``pos[source gid]`` and advances it; delays
    rounded as NEST rounds them, floor(d/dt + 0.5))."""
    src = pl["list_src"]
    if src.size == 0:
        return
    if mode == COUNT:
        np.add.at(counts, src, 1)
        return
    order = np.argsort(src, kind="stable")
    s = src[order]
    first = np.r_[0, np.flatnonzero(s[1:] != s[:-1]) + 1]
    n_of = np.diff(np.r_[first, s.size])
    within = np.arange(s.size) - np.repeat(first, n_of)
    q = pos[s] + within
    steps = np.floor(pl["list_d"][order] / dt + 0.5).astype(np.int64)
    if steps.max() > max_code:
        overflow[0] = 1
        steps = np.minimum(steps, max_code)
    tgt[q] = pl["list_tl"][order]
    w[q] = pl["list_w"][order]
    d[q] = steps
    pos[s[first]] += n_of


def projection_connections(net, seed, pid, rank=0, n_ranks=1):
    """The synapses of projection ``pid`` of the validated ``net`` onto the targets of
    ``rank`` (default: every target), as generated for the build (the same streams): arrays
    (source gid, target gid, weight float64, delay steps int64), grouped by source in
    increasing gid order, each source's synapses sorted by delay as in the tables."""
    pr = net.projections[pid]
    positions = network_positions(net, seed) if is_spatial(pr) else None
    pl = projection_plan(net, seed, pid, rank, n_ranks, positions)
    n_total = net.n_neurons
    counts = np.zeros(n_total + 1, dtype=np.int64)
    overflow = np.zeros(1, dtype=np.int64)
    d_empty = np.empty(0, np.uint16)
    run_plan(pl, COUNT, seed, net, counts, np.empty(0, np.int64), np.empty(0, np.uint32),
             np.empty(0, np.float64), d_empty, overflow)
    row_ptr = np.zeros(n_total + 1, dtype=np.int64)
    np.cumsum(counts[:n_total], out=row_ptr[1:])
    n_syn = int(row_ptr[-1])
    pos = row_ptr[:-1].copy()
    tgt = np.empty(n_syn, np.uint32)
    w = np.empty(n_syn, np.float64)
    d = np.empty(n_syn, np.uint16)
    run_plan(pl, FILL, seed, net, counts, pos, tgt, w, d, overflow)
    if n_syn:
        sort_rows_by_delay(row_ptr, tgt, w, d, int(d.max()))
    src = np.repeat(np.arange(n_total, dtype=np.int64), np.diff(row_ptr))
    return src, tgt.astype(np.int64) * n_ranks + rank, w, d.astype(np.int64)
