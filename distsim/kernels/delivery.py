"""Spike delivery (pure numba): received spikes become per-arrival-step event lists, which are
scattered into the neurons' input buffers just before the step they arrive in.

Why two stages: at full scale a rank's targets times the delay range (38,585 neurons x 58
arrival steps x 2 x 8 bytes = 36 MB) does not fit in cache, so adding every synaptic event
straight into a dense ring buffer missed the cache on almost every event (26 ns/event).
Appending (target, weight) to the list of its arrival step writes sequentially; scattering
one step's list into one input row (n_local values, 2 x 300 KB at full scale) stays in cache.

Two kinds of list per arrival step: events of ordinary spikes (multiplicity 1) store the
float32 weight itself (8 bytes an event: uint32 target + float32 weight); events of spikes
with a multiplicity m != 1 (population nodes) store the float64 value w * m.

Summation order: spikes are delivered in (stamp, gid) order, each row in synapse order, so
every list holds its events in (stamp, gid, synapse) order; a step's input is the ordinary
list, then the multiplicity list, each in order. For a (step, target) that order is the
same for any number of ranks and threads, and so are the floating-point sums (threads: see
``partition_rows`` below).
"""
import numpy as np
from numba import njit, prange


@njit(cache=True)
def sort_spikes(gid, stamp, n_gids):
    """Order (int64 indices) that sorts spikes by (stamp, gid): the delivery order, which is
    the same for any number of ranks, so floating-point sums per target are too."""
    keys = stamp * np.int64(n_gids) + gid
    return np.argsort(keys, kind="mergesort")


# An event pool: fixed-size chunks of C events, chained per arrival slot, recycled through a
# free stack; a tuple (tgt uint32[n_chunks, C], val float32 or float64[n_chunks, C],
# nxt int64[n_chunks], head int64[R_ev], tail int64[R_ev], fill int64[R_ev] (events in the
# tail chunk), free int64[n_chunks] (stack), n_free int64[1]). Memory follows the events
# actually in flight, not R_ev times the busiest step (bursts made that 10-35x larger).


@njit(inline="always", cache=True)
def _append(pool, slot, ts, ws, mq):
    """Append events (ts[i], ws[i] * mq) to the list of ``slot`` (enough free chunks given)."""
    ctgt, cval, nxt, head, tail, fill, free, n_free = pool
    C = ctgt.shape[1]
    nr = ts.shape[0]
    i = 0
    while i < nr:
        c = tail[slot]
        if c < 0 or fill[slot] == C:
            n_free[0] -= 1
            nc = free[n_free[0]]
            nxt[nc] = -1
            if c < 0:
                head[slot] = nc
            else:
                nxt[c] = nc
            tail[slot] = nc
            fill[slot] = 0
            c = nc
        f = fill[slot]
        k = min(C - f, nr - i)
        dt_ = ctgt[c, f:f + k]  # zero-based views: the copies vectorise
        dv = cval[c, f:f + k]
        st = ts[i:i + k]
        sw = ws[i:i + k]
        for j in range(k):
            dt_[j] = st[j]
        if mq == 1:
            for j in range(k):
                dv[j] = sw[j]
        else:
            for j in range(k):
                dv[j] = sw[j] * mq
        fill[slot] = f + k
        i += k


@njit(inline="always", cache=True)
def _drain(pool, slot, rex, rin):
    """Add the events of ``slot`` in order into rex (values >= 0) / rin (< 0); free its chunks."""
    ctgt, cval, nxt, head, tail, fill, free, n_free = pool
    C = ctgt.shape[1]
    c = head[slot]
    while c >= 0:
        n = fill[slot] if c == tail[slot] else C
        et = ctgt[c]
        ev = cval[c]
        for i in range(n):
            v = np.float64(ev[i])
            if v >= 0.0:
                rex[et[i]] += v
            else:
                rin[et[i]] += v
        nc = nxt[c]
        free[n_free[0]] = c
        n_free[0] += 1
        c = nc
    head[slot] = -1
    tail[slot] = -1
    fill[slot] = 0


@njit(cache=True)
def _need(gid, mult, order, starts, stops, Cs, Cm, R_ev):
    """(ordinary events, multiplicity events, chunks each pool must have free) of the
    received spikes over the row parts starts[g] .. stops[g]-1; the worst case: every
    touched list opens a new chunk."""
    n_single = 0
    n_multi = 0
    for qq in range(order.shape[0]):
        q = order[qq]
        if mult[q] == 1:
            n_single += stops[gid[q]] - starts[gid[q]]
        else:
            n_multi += stops[gid[q]] - starts[gid[q]]
    need_s = (n_single + Cs - 1) // Cs + R_ev if n_single > 0 else 0
    need_m = (n_multi + Cm - 1) // Cm + R_ev if n_multi > 0 else 0
    return n_single, n_multi, need_s, need_m


@njit(cache=True)
def _to_lists(gid, stamp, mult, order, starts, stops, tgt, w, d, single, multiple, R_ev):
    """Append the synapses starts[g] .. stops[g]-1 of every received spike (taken in
    ``order``) to the lists of their arrival steps (see :func:`deliver`)."""
    for qq in range(order.shape[0]):  # spike by spike: each row is read once, front to back
        q = order[qq]
        k = starts[gid[q]]
        e = stops[gid[q]]
        mq = mult[q]
        b0 = stamp[q] - 1
        while k < e:  # one run of equal delays at a time: one modulo per run
            dd = d[k]
            r = k + 1
            while r < e and d[r] == dd:
                r += 1
            slot = (b0 + dd) % R_ev
            if mq == 1:
                _append(single, slot, tgt[k:r], w[k:r], 1)
            else:
                _append(multiple, slot, tgt[k:r], w[k:r], mq)
            k = r


@njit(cache=True)
def deliver(gid, stamp, mult, order, row_ptr, tgt, w, d, single, multiple, R_ev):
    """Append every synapse of every received spike to the event list of its arrival step.

    Spike q (source ``gid[q]``, stamp ``stamp[q]`` steps, multiplicity ``mult[q]``) reaches
    target ``tgt[k]`` in step ``a = stamp - 1 + d[k]``. With multiplicity 1 the event
    (tgt[k], float32 w[k]) goes to list ``a % R_ev`` of the pool ``single``; otherwise
    (tgt[k], float64 w[k] * m) to that of ``multiple``. Spikes are taken in ``order``
    ((stamp, gid) order), each row front to back in runs of equal delay (rows are sorted by
    delay), so each list holds its events in (stamp, gid, synapse) order.

    Returns (events delivered, chunks the single pool must have free, chunks the multiple
    pool must have free): when a pool has fewer free chunks than that, nothing was written.
    """
    starts = row_ptr[:-1]
    stops = row_ptr[1:]
    n_single, n_multi, need_s, need_m = _need(gid, mult, order, starts, stops, single[0].shape[1],
                                              multiple[0].shape[1], R_ev)
    if single[7][0] < need_s or multiple[7][0] < need_m:
        return 0, need_s, need_m
    _to_lists(gid, stamp, mult, order, starts, stops, tgt, w, d, single, multiple, R_ev)
    return n_single + n_multi, 0, 0


@njit(cache=True)
def scatter(t0, nsteps, single, multiple, R_ev, ring_ex, ring_in, R):
    """Add the event lists of steps t0..t0+nsteps-1 into the input rows ``ring_ex[s % R]``
    (values >= 0) and ``ring_in[s % R]`` (< 0): the ordinary list, then the multiplicity
    list, each in order; then free them."""
    for s in range(t0, t0 + nsteps):
        slot = s % R_ev
        _drain(single, slot, ring_ex[s % R], ring_in[s % R])
        _drain(multiple, slot, ring_ex[s % R], ring_in[s % R])


# ---------------------------------------------------------------- threads
# With T threads a rank's local targets are split into T contiguous parts (bounds[t] ..
# bounds[t+1]-1); thread t owns its part's event lists: a pool stacked over threads (every
# array of a pool above with a leading thread axis; n_free int64[T, 1]) whose part t is an
# ordinary pool. Each synapse row is ordered by part, stably (``partition_rows``), so part
# t of row g is sp[t, g] .. sp[t+1, g]-1, still sorted by delay. Thread t appends the
# events of its part of every received spike's row in (stamp, gid) order and later scatters
# its lists into its own targets' input rows: every target sees its events in the order of
# one thread, (stamp, gid, synapse), and the sums are bit-identical for any T.


@njit(inline="always", cache=True)
def pool_part(pool, t):
    """Thread t's pool (an ordinary pool of views) of a pool stacked over threads."""
    return (pool[0][t], pool[1][t], pool[2][t], pool[3][t], pool[4][t], pool[5][t], pool[6][t],
            pool[7][t])


@njit(cache=True)
def partition_rows(row_ptr, tgt, w, d, bounds):
    """Order every row's synapses by the part of their target (targets bounds[t] ..
    bounds[t+1]-1 form part t), stably: within a part the row keeps its order (by delay,
    then as built). In place; returns sp int64[T+1, n_rows], part t of row g being
    sp[t, g] .. sp[t+1, g]-1."""
    T = bounds.shape[0] - 1
    n_rows = row_ptr.shape[0] - 1
    part = np.zeros(max(bounds[T], 1), np.int64)
    for t in range(T):
        for i in range(bounds[t], bounds[t + 1]):
            part[i] = t
    longest = 0
    for r in range(n_rows):
        longest = max(longest, row_ptr[r + 1] - row_ptr[r])
    tt = np.empty(longest, dtype=tgt.dtype)
    tw = np.empty(longest, dtype=w.dtype)
    td = np.empty(longest, dtype=d.dtype)
    sp = np.empty((T + 1, n_rows), np.int64)
    cnt = np.zeros(T + 1, np.int64)
    for r in range(n_rows):
        a = row_ptr[r]
        b = row_ptr[r + 1]
        cnt[:] = 0
        for k in range(a, b):
            cnt[part[tgt[k]] + 1] += 1
        for t in range(T):
            cnt[t + 1] += cnt[t]
        for t in range(T + 1):
            sp[t, r] = a + cnt[t]
        for k in range(a, b):
            q = cnt[part[tgt[k]]]
            cnt[part[tgt[k]]] = q + 1
            tt[q] = tgt[k]
            tw[q] = w[k]
            td[q] = d[k]
        for k in range(b - a):
            tgt[a + k] = tt[k]
            w[a + k] = tw[k]
            d[a + k] = td[k]
    return sp


@njit(cache=True, parallel=True)
def deliver_parts(gid, stamp, mult, order, sp, tgt, w, d, single, multiple, R_ev):
    """:func:`deliver` by T threads, thread t appending the events of row parts t (``sp``,
    see :func:`partition_rows`) to its own pools (``single``, ``multiple``: stacked over
    threads). Returns (events delivered, chunks every thread's single pool must have free,
    the same for the multiple pool): when a thread has fewer, nothing was written."""
    T = sp.shape[0] - 1
    total = 0
    need_s = 0
    need_m = 0
    short = False
    for t in range(T):
        ns, nm, qs, qm = _need(gid, mult, order, sp[t], sp[t + 1], single[0].shape[2],
                               multiple[0].shape[2], R_ev)
        total += ns + nm
        need_s = max(need_s, qs)
        need_m = max(need_m, qm)
        short |= single[7][t, 0] < qs or multiple[7][t, 0] < qm
    if short:
        return 0, need_s, need_m
    for t in prange(T):
        _to_lists(gid, stamp, mult, order, sp[t], sp[t + 1], tgt, w, d, pool_part(single, t),
                  pool_part(multiple, t), R_ev)
    return total, 0, 0


@njit(cache=True, parallel=True)
def scatter_parts(t0, nsteps, single, multiple, R_ev, ring_ex, ring_in, R):
    """:func:`scatter` by T threads, each draining its own lists (pools stacked over
    threads) into its own targets' input rows."""
    T = single[7].shape[0]
    for t in prange(T):
        scatter(t0, nsteps, pool_part(single, t), pool_part(multiple, t), R_ev, ring_ex, ring_in, R)


@njit(cache=True)
def pool_dump(pool, R_ev):
    """All pending events of a pool in list order: (slot int64[], local target int64[],
    value float64[])."""
    ctgt, cval, nxt, head, tail, fill, free, n_free = pool
    C = ctgt.shape[1]
    total = 0
    for slot in range(R_ev):
        c = head[slot]
        while c >= 0:
            total += fill[slot] if c == tail[slot] else C
            c = nxt[c]
    slots = np.empty(total, np.int64)
    tg = np.empty(total, np.int64)
    val = np.empty(total, np.float64)
    p = 0
    for slot in range(R_ev):
        c = head[slot]
        while c >= 0:
            n = fill[slot] if c == tail[slot] else C
            for i in range(n):
                slots[p] = slot
                tg[p] = ctgt[c, i]
                val[p] = cval[c, i]
                p += 1
            c = nxt[c]
    return slots, tg, val


@njit(cache=True)
def pool_load(pool, slots, tg, val):
    """Append events (slots[i], tg[i], val[i]) in order (enough free chunks given)."""
    for i in range(slots.shape[0]):
        _append(pool, slots[i], tg[i:i + 1].astype(np.uint32), val[i:i + 1], 1)
