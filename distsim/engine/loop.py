"""The compiled step loop (issue 14): many min-delay slices in one numba call.

:func:`run_slices` does, slice after slice, exactly what ``Simulation._slice`` (the Python
per-slice path, kept as the reference and as the fallback) does, in the same order, with the
same kernels, so the spikes and samples are bit for bit the same:

1. scatter the slice's event lists into the input rows (``kernels.delivery.scatter``);
2. add the devices that bypass the network, from arrays built once (:class:`LoopDevices`:
   spike_generator arrival steps and weights; current generators' change steps and
   amplitudes; the ac/noise generators' kernels on flat tables,
   ``kernels.currents.CurrentTables``, so that the loop's types do not depend on which
   generators a network has), in device order;
3. run every group with ``kernels.driver.run_group`` (``literal_unroll`` over the tuple of
   the groups' ``GroupArgs``: one loop body per model); voltmeter samples go into a buffer of
   rows for the whole call (one per group, ``Rec.row`` carried from slice to slice); then
   check each group's V_m (first recordable) for NaN/inf (``kernels.finite``): a rank that
   finds one asks to stop (``flags[F_NONFINITE]``), so every rank returns after this slice;
   a model that declares an instability flag (``NeuronModel.unstable_flag``, aeif_cond_exp)
   is checked after its update: the call returns ``UNSTABLE`` before the exchange, and
   Python raises the error the Python path raises;
4. count the spikes and append the recorded ones (gid, stamp; a record of multiplicity k as
   k spikes) to a buffer that grows inside the call; add this rank's spikes to the
   postsynaptic histories of plastic synapses (``kernels.plastic.record_slice``);
5. pack this rank's slot, the stop request in its header (``flags[F_STOP_REQ]``), and exchange
   the slots through ``comm.compiled.exchange_slots`` (MPI from numba, or a copy on one rank);
   the overflow round when a header says so (``comm.compiled.exchange_extra``);
6. sort the received records by (stamp, gid) and deliver them into the event lists, growing
   the chunk pools inside the call when needed: static synapses first, then every plastic
   projection in projection order (``kernels.plastic.deliver_table``, the kernel the Python
   path calls too; the histories may grow inside the call and are handed back).

The call returns after the slice that reaches ``boundary`` (a step the caller needs to see:
the chunk length, a flush, a checkpoint, the end), after a slice in which any rank asked to
stop (every rank sees that in the same headers, so every rank returns after the same slice),
or when the exchange capacity must change (decided from the headers: the same on every rank;
``engine.exchange.SpikeExchange`` then makes new buffers and a new collective in Python).
Python therefore runs only at those boundaries: no per-slice Python at all.

Signals: Python runs a signal handler only between bytecodes, never inside the compiled call,
so a SIGTERM that arrives during a call sets the stop request when the call returns, and the
request rides in the header of the first slice of the next call; every rank stops after that
slice. The stop therefore comes at most one chunk (``Simulation.chunk_ms``, 10 ms of
simulated time by default) later than in the Python path, and still at one step on all ranks.
"""
from collections import namedtuple

import numpy as np
from numba import literal_unroll, njit

from ..comm.compiled import exchange_extra, exchange_slots
from ..kernels.currents import current_table_rows
from ..kernels.delivery import deliver, scatter, sort_spikes
from ..kernels.driver import Rec, group_unstable, run_group
from ..kernels.exchange import pack_slot, unpack_records, unpack_slots
from ..kernels.finite import first_nonfinite
from ..kernels.plastic import deliver_table, record_slice

#: spike_generators (arrival steps of generator k: steps[ptr[k]:ptr[k + 1]], sorted; weight
#: w[k]; local targets idx[iptr[k]:iptr[k + 1]]) and current generators (change steps
#: ch[cptr[k]:cptr[k + 1]] with amplitudes amp[...] (pA), targets cidx[ciptr[k]:ciptr[k + 1]]),
#: each in device order; cur: the ac/noise generators (kernels.currents.CurrentTables)
LoopDevices = namedtuple("LoopDevices", "steps ptr w idx iptr ch amp cptr cidx ciptr cur")

#: the exchange's buffers (engine.exchange.SpikeExchange) and its comm handle
#: (comm.compiled); capacity: records per slot now; initial: its initial value;
#: shrink_after: quiet slices before a shrink
LoopExchange = namedtuple("LoopExchange", "sendbuf recvbuf gid stamp mult capacity initial shrink_after comm")

#: the plastic projections (engine.plastic.Plasticity): tables, a tuple of
#: kernels.plastic.PlasticArgs in projection order (one placeholder of kind 0 when there are
#: none); k_at, k_val: the STDP kernel's K_minus memo (scratch); has_history: some local
#: neuron keeps a spike history (the histories themselves are an argument of their own, as
#: the loop may grow them); min_delay (steps) and dt (ms) for the history pruning
LoopPlastic = namedtuple("LoopPlastic", "tables k_at k_val has_history min_delay dt")

# flags (int64 array shared with Simulation): indices
F_STOP_REQ = 0  # this rank asks to stop (set from Python, read at every slice)
F_STOPPED = 1  # every rank agreed to stop after the last slice run
F_SPIKES = 2  # spikes emitted by this rank's neurons (added to)
F_EVENTS = 3  # synaptic events delivered (added to)
F_QUIET = 4  # slices in a row whose fullest slot used <= capacity / 8
F_SECOND = 5  # slices that needed the overflow round (added to)
F_NMAX = 6  # the fullest slot of the last slice (records)
F_NONFINITE = 7  # 1 + local index of the first neuron whose V_m became NaN/inf (0: none);
# set with F_STOP_REQ, so every rank stops after that slice (Simulation raises NonFiniteState)
F_NONFINITE_STEP = 8  # the first step of that slice
F_UNSTABLE = 9  # with status UNSTABLE: the group (index) with a numerically unstable neuron
N_FLAGS = 10

# return status
DONE = 0  # boundary or end reached
STOPPED = 1  # a rank asked to stop: every rank returns after the same slice
GROW = 2  # a slot overflowed: the capacity must grow (flags[F_NMAX])
SHRINK = 3  # capacity used little for shrink_after slices: halve it
UNSTABLE = 4  # a neuron became numerically unstable in the slice from the returned step (its
#               model's unstable_flag; group flags[F_UNSTABLE]): returned before the exchange,
#               as the Python path raises there (models.base.NeuronModel.check_stable)

_STOP = np.int64(1) << np.int64(62)  # engine.exchange.STOP_FLAG
_MASK = _STOP - np.int64(1)


@njit(cache=True)
def _bisect(a, lo, hi, x, right):
    """First index i in [lo, hi) with a[i] > x (right) or a[i] >= x (left); a sorted."""
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < x or (right and a[mid] == x):
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def inject_devices(dev, t0, m, R, ring_ex, ring_in, ring_cur):
    """Spike and current generators' input of steps t0..t0+m-1 into the input rows, in the
    order of ``Simulation._inject_devices`` (the ac/noise generators' kernels last)."""
    for k in range(dev.w.shape[0]):
        a = _bisect(dev.steps, dev.ptr[k], dev.ptr[k + 1], t0, False)
        b = _bisect(dev.steps, a, dev.ptr[k + 1], t0 + m, False)
        w = dev.w[k]
        ring = ring_ex if w >= 0 else ring_in
        for q in range(a, b):
            row = dev.steps[q] % R
            for i in range(dev.iptr[k], dev.iptr[k + 1]):
                ring[row, dev.idx[i]] += w
    for k in range(dev.cptr.shape[0] - 1):
        c0 = dev.cptr[k]
        c1 = dev.cptr[k + 1]
        if c1 == c0 or dev.ciptr[k + 1] == dev.ciptr[k]:
            continue
        for s in range(t0, t0 + m):
            j = _bisect(dev.ch, c0, c1, s, True) - 1  # the last change at or before s
            if j < c0:
                continue
            a = dev.amp[j]
            if a != 0.0:
                row = s % R
                for i in range(dev.ciptr[k], dev.ciptr[k + 1]):
                    ring_cur[row, dev.cidx[i]] += a
    if dev.cur.order.shape[0] > 0:  # ac/noise generators (kernels.currents)
        current_table_rows(dev.cur, ring_cur, t0, m)


@njit(cache=True)
def grow_pool(pool, n_free_needed):
    """An event pool (kernels.delivery) with at least ``n_free_needed`` free chunks, as
    ``engine.events._grow`` makes it (grown by 25% or as needed)."""
    ctgt, cval, nxt, head, tail, fill, free, n_free = pool
    nc = ctgt.shape[0]
    C = ctgt.shape[1]
    add = max(n_free_needed - n_free[0], nc // 4, 1)
    ctgt2 = np.empty((nc + add, C), ctgt.dtype)
    cval2 = np.empty((nc + add, C), cval.dtype)
    ctgt2[:nc] = ctgt
    cval2[:nc] = cval
    nxt2 = np.full(nc + add, -1, np.int64)
    nxt2[:nc] = nxt
    free2 = np.empty(nc + add, np.int64)
    k = n_free[0]
    free2[:k] = free[:k]
    for i in range(add):
        free2[k + i] = nc + add - 1 - i
    nf = np.empty(1, np.int64)
    nf[0] = k + add
    return (ctgt2, cval2, nxt2, head, tail, fill, free2, nf)


@njit(cache=True)
def deliver_plastic(pl, gid, stamp, order, H, multiple, R_ev):
    """Deliver received spikes (in ``order``) through every plastic table of ``pl``
    (:class:`LoopPlastic`) in projection order into the float64 event pool ``multiple``,
    growing it as ``engine.plastic.Plasticity.deliver`` does. Returns (events, the pool)."""
    total = 0
    for t in literal_unroll(pl.tables):
        if t.kind != 0:
            while True:
                n_ev, need = deliver_table(t, gid, stamp, order, H, pl.k_at, pl.k_val, pl.dt, multiple, R_ev)
                if need == 0:
                    total += n_ev
                    break
                multiple = grow_pool(multiple, need)
    return total, multiple


@njit(cache=True)
def _grow_spikes(a, need):
    b = np.empty(max(2 * a.shape[0], need, 1024), np.int64)
    b[:a.shape[0]] = a
    return b


@njit(cache=True)
def run_slices(groups, recs, rows, dev, rings, out, single, multiple, R_ev, xc, syn, pl, H, spk_mask,
               spk_g, spk_s, flags, step, end, boundary, M, R, n_neurons, size, rank, has_mult,
               record_spikes):
    """Run slices of M steps (the last one cut at ``end``) from ``step`` on; see the module
    docstring. groups: tuple of ``kernels.driver.GroupArgs``; recs: a tuple of ``Rec`` per
    group (buffers for all the rows this call can fill), rows: int64 next free row per group;
    dev: :class:`LoopDevices`; rings, out: as for run_group; single, multiple: the event
    pools; xc: :class:`LoopExchange`; syn: (row_ptr, tgt, w, d); pl: :class:`LoopPlastic`;
    H: the postsynaptic histories (kernels.plastic); spk_mask: recorded local neurons;
    spk_g, spk_s: recorded spikes buffers; flags: see F_*.

    Plastic projections, as ``Simulation._exchange_and_deliver`` does: this slice's spikes
    go into the histories before the exchange; the received spikes are delivered through
    the plastic tables (in projection order) after the static synapses.

    Returns (status, next step, single, multiple, spk_g, spk_s, recorded spikes in them,
    H)."""
    ring_ex, ring_in, ring_cur = rings
    out_idx, out_stamp, out_mult = out
    row_ptr, tgt, w, d = syn
    cap = xc.capacity
    sw = 1 + 3 * cap
    n_rec = 0
    status = np.int64(DONE)
    while step < end:
        m = min(M, end - step)
        scatter(step, m, single, multiple, R_ev, ring_ex, ring_in, R)
        inject_devices(dev, step, m, R, ring_ex, ring_in, ring_cur)
        n_out = 0
        gi = 0
        bad = -1
        for g in literal_unroll(groups):
            rc = recs[gi]
            n_out, r = run_group(g, step, m, R, rings, out, n_out,
                                 Rec(rc.idx, rc.codes, rc.buf, rc.interval, rows[gi]))
            rows[gi] = r
            if bad < 0 and group_unstable(g):
                bad = gi
            gi += 1
            if flags[F_NONFINITE] == 0:  # once per slice: V_m NaN/inf (kernels.finite)
                j = first_nonfinite(g.rec_vars[0])
                if j >= 0:
                    flags[F_NONFINITE] = g.lo + j + 1
                    flags[F_NONFINITE_STEP] = step
                    flags[F_STOP_REQ] = 1
        if bad >= 0:
            flags[F_UNSTABLE] = bad
            status = np.int64(UNSTABLE)
            break
        if has_mult:
            for i in range(n_out):
                flags[F_SPIKES] += out_mult[i]
        else:
            flags[F_SPIKES] += n_out
        if record_spikes:
            for i in range(n_out):
                li = out_idx[i]
                if spk_mask[li]:
                    k = out_mult[i] if has_mult else 1
                    if n_rec + k > spk_g.shape[0]:
                        spk_g = _grow_spikes(spk_g, n_rec + k)
                        spk_s = _grow_spikes(spk_s, n_rec + k)
                    for _ in range(k):
                        spk_g[n_rec] = li * size + rank
                        spk_s[n_rec] = out_stamp[i]
                        n_rec += 1
        if pl.has_history:  # engine.plastic.Plasticity.record_post
            H = record_slice(out_idx, out_stamp, n_out, H, pl.min_delay, pl.dt)
        # the exchange (engine.exchange.SpikeExchange.exchange, in numba)
        if n_out > xc.sendbuf.shape[0] // 3:
            raise RuntimeError("more spike records than the send buffer holds")
        pack_slot(out_idx, out_stamp, out_mult, n_out, size, rank,
                  _STOP if flags[F_STOP_REQ] != 0 else np.int64(0), xc.sendbuf)
        if exchange_slots(xc.comm, xc.sendbuf, xc.recvbuf) != 0:
            raise RuntimeError("MPI error in the spike exchange")
        n, bits, n_max = unpack_slots(xc.recvbuf, size, sw, _MASK, xc.gid, xc.stamp, xc.mult)
        rg = xc.gid
        rs = xc.stamp
        rm = xc.mult
        if n_max > cap:  # the overflow round: the records that did not fit, counts from headers
            flags[F_SECOND] += 1
            extra = np.empty(size, np.int64)
            total = 0
            for r in range(size):
                e = max((xc.recvbuf[r * sw] & _MASK) - cap, 0) * 3
                extra[r] = e
                total += e
            recv = np.empty(total, np.int64)
            if exchange_extra(xc.comm, xc.sendbuf, 1 + 3 * cap, extra[rank], recv, extra) != 0:
                raise RuntimeError("MPI error in the spike exchange (overflow round)")
            n2 = n + total // 3
            rg = np.empty(n2, np.int64)
            rs = np.empty(n2, np.int64)
            rm = np.empty(n2, np.int64)
            rg[:n] = xc.gid[:n]
            rs[:n] = xc.stamp[:n]
            rm[:n] = xc.mult[:n]
            n = unpack_records(recv, total // 3, rg, rs, rm, n)
        step += m
        if n > 0:
            order = sort_spikes(rg[:n], rs[:n], n_neurons)
            while True:
                n_ev, need_s, need_m = deliver(rg[:n], rs[:n], rm[:n], order, row_ptr, tgt, w, d,
                                               single, multiple, R_ev)
                if need_s == 0 and need_m == 0:
                    flags[F_EVENTS] += n_ev
                    break
                if single[7][0] < need_s:
                    single = grow_pool(single, need_s)
                if multiple[7][0] < need_m:
                    multiple = grow_pool(multiple, need_m)
            n_ev, multiple = deliver_plastic(pl, rg[:n], rs[:n], order, H, multiple, R_ev)
            flags[F_EVENTS] += n_ev
        # capacity: the same decision on every rank (engine.exchange.SpikeExchange._adapt)
        flags[F_NMAX] = n_max
        if n_max > cap:
            flags[F_QUIET] = 0
            status = np.int64(GROW)
        elif cap > xc.initial and n_max <= cap // 8:
            flags[F_QUIET] += 1
            if flags[F_QUIET] >= xc.shrink_after:
                flags[F_QUIET] = 0
                status = np.int64(SHRINK)
        else:
            flags[F_QUIET] = 0
        if bits & _STOP:
            flags[F_STOPPED] = 1
            if status == DONE:
                status = np.int64(STOPPED)
        if status != DONE or step >= boundary:
            break
    return status, step, single, multiple, spk_g, spk_s, n_rec, H


def typed_loop(args, cached=True):
    """The compiled entry point of :func:`run_slices` for the types of ``args`` (compiled or
    loaded from the cache once; calling it skips numba's per-call typing of every array).
    ``cached=False`` (models declared outside distsim, as ``kernels.driver.typed_entry``
    does): a copy of the loop and of ``run_group`` that numba does not cache."""
    from numba import typeof
    sig = tuple(typeof(a) for a in args)
    fn = run_slices if cached else _uncached()
    fn.compile(sig)
    return fn.overloads[sig].entry_point


_UNCACHED = None


def _uncached():
    global _UNCACHED
    if _UNCACHED is None:
        import types as _t
        rg = njit(run_group.py_func)
        g = dict(run_slices.py_func.__globals__, run_group=rg)
        f = _t.FunctionType(run_slices.py_func.__code__, g, "run_slices_uncached")
        _UNCACHED = njit(f)
    return _UNCACHED
