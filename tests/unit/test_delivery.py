"""Event lists (engine/events.py, kernels/delivery.py): every synaptic event reaches its
target in its arrival step, in the documented order (ordinary events in (stamp, gid,
synapse) order, then multiplicity events in that order), through pool growth and through a
checkpoint-style dump and reload on another number of ranks."""
import numpy as np

from distsim.connectivity import SynapseTable
from distsim.engine import events as ev_mod
from distsim.engine.events import EventLists
from distsim.kernels.delivery import sort_spikes

N_SRC, N_TGT, D_MIN, D_MAX = 40, 7, 2, 9


def table(rng):
    """Random synapse table (rows sorted by delay, as built), float32 weights of both signs."""
    counts = rng.integers(0, 60, N_SRC)
    row_ptr = np.zeros(N_SRC + 1, np.int64)
    np.cumsum(counts, out=row_ptr[1:])
    n = int(row_ptr[-1])
    tgt = rng.integers(0, N_TGT, n).astype(np.uint32)
    # magnitudes over 12 decades: any change of summation order changes the rounded sums
    w = (rng.normal(0.0, 1.0, n) * 10.0 ** rng.uniform(-6, 6, n)).astype(np.float32)
    d = rng.integers(D_MIN, D_MAX + 1, n).astype(np.uint8)
    for g in range(N_SRC):
        a, b = row_ptr[g], row_ptr[g + 1]
        o = np.argsort(d[a:b], kind="stable")
        tgt[a:b], w[a:b], d[a:b] = tgt[a:b][o], w[a:b][o], d[a:b][o]
    return SynapseTable(row_ptr, tgt, w, d)


def spikes(rng, t0, M):
    """Spikes of one slice (stamps t0+1..t0+M), some with a multiplicity, in random order."""
    n = rng.integers(0, 25)
    gid = rng.integers(0, N_SRC, n).astype(np.int64)
    stamp = rng.integers(t0 + 1, t0 + M + 1, n).astype(np.int64)
    mult = np.where(rng.random(n) < 0.3, rng.integers(2, 6, n), 1).astype(np.int64)
    return gid, stamp, mult


def reference(syn, all_spikes, n_steps):
    """Per step and target the input sum, folded in the documented order (float64)."""
    ex = np.zeros((n_steps + D_MAX + 1, N_TGT))
    inh = np.zeros_like(ex)
    per_step = {}
    for gid, stamp, mult in all_spikes:
        for q in np.lexsort((gid, stamp)):
            g = gid[q]
            for k in range(syn.row_ptr[g], syn.row_ptr[g + 1]):
                a = stamp[q] - 1 + int(syn.d[k])
                v = np.float64(syn.w[k]) if mult[q] == 1 else syn.w[k] * mult[q]
                per_step.setdefault(a, ([], []))[int(mult[q] != 1)].append((int(syn.tgt[k]), v))
    for a, (ordinary, multiple) in per_step.items():
        for t, v in ordinary + multiple:
            (ex if v >= 0 else inh)[a, t] += v
    return ex, inh


def run(syn, slices, M, reload_at=None, rng=None):
    """Deliver slice by slice and scatter each slice's steps; returns (ex, in) per step."""
    R_ev = D_MAX + M
    lists = EventLists(R_ev)
    ex = np.zeros((len(slices) * M + D_MAX + 1, N_TGT))
    inh = np.zeros_like(ex)
    for i, (gid, stamp, mult) in enumerate(slices):
        t0 = i * M
        rex, rin = np.zeros((M, N_TGT)), np.zeros((M, N_TGT))
        lists.scatter(t0, M, rex, rin, M)
        for s in range(t0, t0 + M):
            ex[s], inh[s] = rex[s % M], rin[s % M]
        if gid.size:
            lists.deliver(gid, stamp, mult, sort_spikes(gid, stamp, N_SRC), syn)
        if i == reload_at:  # as a checkpoint: dump by gid, reload into fresh lists
            recs = lists.records(0, 1)
            lists = EventLists(R_ev)
            lists.load(recs, 0, 1)
    return ex, inh


def test_every_event_arrives_in_order_with_multiplicities_and_growth(monkeypatch):
    monkeypatch.setattr(ev_mod, "CHUNK", 4)  # tiny chunks: runs split, pools grow often
    rng = np.random.default_rng(5)
    syn = table(rng)
    M = 2
    slices = [spikes(rng, i * M, M) for i in range(60)]
    ex, inh = run(syn, slices, M)
    rex, rin = reference(syn, slices, 60 * M)
    n = 60 * M
    assert np.count_nonzero(rex[:n]) > 100 and np.count_nonzero(rin[:n]) > 100
    assert np.array_equal(ex[:n], rex[:n]) and np.array_equal(inh[:n], rin[:n])


def test_dump_and_reload_continues_exactly(monkeypatch):
    monkeypatch.setattr(ev_mod, "CHUNK", 4)
    rng = np.random.default_rng(9)
    syn = table(rng)
    M = 3
    slices = [spikes(rng, i * M, M) for i in range(40)]
    a = run(syn, slices, M)
    b = run(syn, slices, M, reload_at=17)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_records_split_by_rank_and_reload_on_other_rank_counts():
    """Pending events written by 2 ranks reload on 3: each target keeps its events in order."""
    rng = np.random.default_rng(2)
    R_ev = 6
    recs = {"single": ([], [], []), "multiple": ([], [], [])}
    for rank in range(2):
        lists = EventLists(R_ev)
        n_loc = 5
        slots = rng.integers(0, R_ev, 30)
        tg = rng.integers(0, n_loc, 30)
        val = rng.normal(size=30).astype(np.float32).astype(np.float64)
        lists.load({"single": (slots, tg * 2 + rank, val), "multiple": (slots[:5], tg[:5] * 2 + rank, 3 * val[:5])}, rank, 2)
        r = lists.records(rank, 2)
        for kind in recs:
            for i in range(3):
                recs[kind][i].append(r[kind][i])
        # the dump is the loaded events, grouped by slot in their order
        o = np.argsort(slots, kind="stable")
        assert np.array_equal(r["single"][0], slots[o]) and np.array_equal(r["single"][2], val[o])
    merged = {k: tuple(np.concatenate(v[i]) for i in range(3)) for k, v in recs.items()}
    total = 0
    for rank in range(3):
        lists = EventLists(R_ev)
        lists.load(merged, rank, 3)
        r = lists.records(rank, 3)
        assert np.all(r["single"][1] % 3 == rank)
        total += r["single"][1].size + r["multiple"][1].size
    assert total == merged["single"][1].size + merged["multiple"][1].size == 70
