"""Spike delivery (pure numba): received spikes become per-arrival-step event lists, which are
scattered into the neurons' input buffers just before the step they arrive in.

Why two stages: at full scale a rank's targets times the delay range (38,585 neurons x 58
arrival steps x 2 x 8 bytes = 36 MB) does not fit in cache, so adding every synaptic event
straight into a dense ring buffer missed the cache on almost every event (26 ns/event).
Appending (target, value) to the list of its arrival step writes sequentially; scattering one
step's list into one input row (n_local values, 2 x 300 KB at full scale) stays in cache.

Summation order: events are appended arrival step by arrival step, and within an arrival
step in (stamp, gid) order of the spikes, then synapse order; scattering a list in order
therefore adds the inputs of a (step, target) in the same order for any number of ranks.
"""
import numpy as np
from numba import njit


@njit(cache=True)
def sort_spikes(gid, stamp, n_gids):
    """Order (int64 indices) that sorts spikes by (stamp, gid): the delivery order, which is
    the same for any number of ranks, so floating-point sums per target are too."""
    keys = stamp * np.int64(n_gids) + gid
    return np.argsort(keys, kind="mergesort")


@njit(cache=True)
def deliver(gid, stamp, mult, order, row_ptr, tgt, w, d, ev_tgt, ev_val, ev_n, R_ev):
    """Append every synapse of every received spike to the event list of its arrival step.

    Spike q (source ``gid[q]``, stamp ``stamp[q]`` steps, multiplicity ``mult[q]``) reaches
    target ``tgt[k]`` in step ``a = stamp - 1 + d[k]``; the event (tgt[k], w[k] * mult)
    (value in the weight's unit, float64) goes to list ``a % R_ev``: ``ev_tgt[a % R_ev, i]``,
    ``ev_val[a % R_ev, i]`` with ``i`` counted in ``ev_n[a % R_ev]``.

    Every row is sorted by delay, so a cursor per spike walks its row while the arrival
    steps increase. If some list would outgrow the capacity ``ev_tgt.shape[1]``, nothing is
    written and minus the capacity needed is returned; otherwise the number of events
    (int64, >= 0).
    """
    n = order.shape[0]
    cap = ev_tgt.shape[1]
    cur = np.empty(n, dtype=np.int64)
    end = np.empty(n, dtype=np.int64)
    base = np.empty(n, dtype=np.int64)
    m = np.empty(n, dtype=np.int64)
    first = np.int64(2 ** 62)
    last = np.int64(-1)
    n_events = 0
    for qq in range(n):
        q = order[qq]
        g = gid[q]
        a = row_ptr[g]
        b = row_ptr[g + 1]
        cur[qq] = a
        end[qq] = b
        base[qq] = stamp[q] - 1
        m[qq] = mult[q]
        n_events += b - a
        if b > a:
            first = min(first, base[qq] + d[a])
            last = max(last, base[qq] + d[b - 1])
    if last < first:
        return 0
    # capacity check: events per arrival step (a sequential pass over the delays)
    need = np.zeros(last - first + 1, dtype=np.int64)
    for qq in range(n):
        b0 = base[qq] - first
        for k in range(cur[qq], end[qq]):
            need[b0 + d[k]] += 1
    most = 0
    for i in range(need.shape[0]):
        most = max(most, ev_n[(first + i) % R_ev] + need[i])
    if most > cap:
        return -most
    for arr in range(first, last + 1):
        slot = arr % R_ev
        et = ev_tgt[slot]
        ev = ev_val[slot]
        pos = ev_n[slot]
        for qq in range(n):
            k = cur[qq]
            e = end[qq]
            dd = arr - base[qq]
            if k >= e or d[k] != dd:
                continue
            mq = m[qq]
            while k < e and d[k] == dd:
                et[pos] = tgt[k]
                ev[pos] = w[k] * mq if mq != 1 else np.float64(w[k])
                pos += 1
                k += 1
            cur[qq] = k
        ev_n[slot] = pos
    return n_events


@njit(cache=True)
def scatter(t0, nsteps, ev_tgt, ev_val, ev_n, R_ev, ring_ex, ring_in, R):
    """Add the event lists of steps t0..t0+nsteps-1 into the input rows ``ring_ex[s % R]``
    (values >= 0) and ``ring_in[s % R]`` (< 0), in list order, and empty the lists."""
    for s in range(t0, t0 + nsteps):
        slot = s % R_ev
        rex = ring_ex[s % R]
        rin = ring_in[s % R]
        et = ev_tgt[slot]
        ev = ev_val[slot]
        for i in range(ev_n[slot]):
            v = ev[i]
            if v >= 0.0:
                rex[et[i]] += v
            else:
                rin[et[i]] += v
        ev_n[slot] = 0


@njit(cache=True)
def pending_dense(ev_tgt, ev_val, ev_n, n):
    """The pending events as dense (ex, in) arrays [R_ev, n] (sums in list order)."""
    R_ev = ev_n.shape[0]
    ex = np.zeros((R_ev, n))
    inh = np.zeros((R_ev, n))
    for slot in range(R_ev):
        for i in range(ev_n[slot]):
            v = ev_val[slot, i]
            if v >= 0.0:
                ex[slot, ev_tgt[slot, i]] += v
            else:
                inh[slot, ev_tgt[slot, i]] += v
    return ex, inh
