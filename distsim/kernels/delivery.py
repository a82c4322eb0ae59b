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
every list holds its events in (stamp, gid, synapse) order; a step's input is the
multiplicity list, then the ordinary list, each in order. For a (step, target) that order is
the same for any number of ranks, and so are the floating-point sums.
"""
import numpy as np
from numba import njit


@njit(cache=True)
def pack_records(out_idx, out_stamp, n_out, size, rank, buf):
    """Write the first n_out local spikes as records (gid, stamp, multiplicity 1) into the
    int64 ``buf``; returns the number of int64 values written."""
    for i in range(n_out):
        buf[3 * i] = out_idx[i] * size + rank
        buf[3 * i + 1] = out_stamp[i]
        buf[3 * i + 2] = 1
    return 3 * n_out


@njit(cache=True)
def sort_spikes(gid, stamp, n_gids):
    """Order (int64 indices) that sorts spikes by (stamp, gid): the delivery order, which is
    the same for any number of ranks, so floating-point sums per target are too."""
    keys = stamp * np.int64(n_gids) + gid
    return np.argsort(keys, kind="mergesort")


@njit(cache=True)
def _list_need(n, cur, end, base, m, single, d, first, last, ev_n, R_ev):
    """The largest length (events) of the ordinary (single=True) or multiplicity lists
    after adding a deliver() call's events."""
    need = np.zeros(last - first + 1, dtype=np.int64)
    for qq in range(n):
        if (m[qq] == 1) != single:
            continue
        b0 = base[qq] - first
        for k in range(cur[qq], end[qq]):
            need[b0 + d[k]] += 1
    most = 0
    for i in range(need.shape[0]):
        most = max(most, ev_n[(first + i) % R_ev] + need[i])
    return most


@njit(cache=True)
def deliver(gid, stamp, mult, order, row_ptr, tgt, w, d,
            ev_tgt, ev_w, ev_n, mv_tgt, mv_val, mv_n, R_ev):
    """Append every synapse of every received spike to the event list of its arrival step.

    Spike q (source ``gid[q]``, stamp ``stamp[q]`` steps, multiplicity ``mult[q]``) reaches
    target ``tgt[k]`` in step ``a = stamp - 1 + d[k]``. With multiplicity 1 the event
    (tgt[k], w[k]) goes to ``ev_tgt[a % R_ev, i]``, ``ev_w[a % R_ev, i]``, i counted in
    ``ev_n``; otherwise (tgt[k], float64 w[k] * m) goes to ``mv_tgt``, ``mv_val``, ``mv_n``.
    Spikes are taken in ``order`` ((stamp, gid) order), each row front to back in runs of
    equal delay (rows are sorted by delay).

    Returns (events delivered, capacity needed by the ordinary lists, by the multiplicity
    lists): when a needed capacity is > 0 the lists are too short and nothing was written.
    """
    n = order.shape[0]
    cur = np.empty(n, dtype=np.int64)
    end = np.empty(n, dtype=np.int64)
    base = np.empty(n, dtype=np.int64)
    m = np.empty(n, dtype=np.int64)
    first = np.int64(2 ** 62)
    last = np.int64(-1)
    n_single = 0
    n_multi = 0
    for qq in range(n):
        q = order[qq]
        g = gid[q]
        a = row_ptr[g]
        b = row_ptr[g + 1]
        cur[qq] = a
        end[qq] = b
        base[qq] = stamp[q] - 1
        m[qq] = mult[q]
        if m[qq] == 1:
            n_single += b - a
        else:
            n_multi += b - a
        if b > a:
            first = min(first, base[qq] + d[a])
            last = max(last, base[qq] + d[b - 1])
    if last < first:
        return 0, 0, 0
    # capacity: every list can take all events of this call (cheap bound), else count
    # the events per arrival step (a sequential pass over the delays)
    grow_s = 0
    grow_m = 0
    most_s = 0
    most_m = 0
    for a in range(first, last + 1):
        most_s = max(most_s, ev_n[a % R_ev])
        most_m = max(most_m, mv_n[a % R_ev])
    if n_single > 0 and most_s + n_single > ev_tgt.shape[1]:
        need = _list_need(n, cur, end, base, m, True, d, first, last, ev_n, R_ev)
        if need > ev_tgt.shape[1]:
            grow_s = need
    if n_multi > 0 and most_m + n_multi > mv_tgt.shape[1]:
        need = _list_need(n, cur, end, base, m, False, d, first, last, mv_n, R_ev)
        if need > mv_tgt.shape[1]:
            grow_m = need
    if grow_s > 0 or grow_m > 0:
        return 0, grow_s, grow_m
    for qq in range(n):  # spike by spike: each row is read once, front to back
        k = cur[qq]
        e = end[qq]
        mq = m[qq]
        b0 = base[qq]
        while k < e:  # one run of equal delays at a time: one modulo per run
            dd = d[k]
            slot = (b0 + dd) % R_ev
            r = k + 1
            while r < e and d[r] == dd:
                r += 1
            nr = r - k
            ts = tgt[k:r]
            ws = w[k:r]
            if mq == 1:  # zero-based views: the copies vectorise
                pos = ev_n[slot]
                ets = ev_tgt[slot, pos:pos + nr]
                ews = ev_w[slot, pos:pos + nr]
                for i in range(nr):
                    ets[i] = ts[i]
                for i in range(nr):
                    ews[i] = ws[i]
                ev_n[slot] = pos + nr
            else:
                pos = mv_n[slot]
                ets = mv_tgt[slot, pos:pos + nr]
                evs = mv_val[slot, pos:pos + nr]
                for i in range(nr):
                    ets[i] = ts[i]
                for i in range(nr):
                    evs[i] = ws[i] * mq
                mv_n[slot] = pos + nr
            k = r
    return n_single + n_multi, 0, 0


@njit(cache=True)
def scatter(t0, nsteps, ev_tgt, ev_w, ev_n, mv_tgt, mv_val, mv_n, R_ev, ring_ex, ring_in, R):
    """Add the event lists of steps t0..t0+nsteps-1 into the input rows ``ring_ex[s % R]``
    (values >= 0) and ``ring_in[s % R]`` (< 0): the multiplicity list, then the ordinary
    list, each in order; then empty the lists."""
    for s in range(t0, t0 + nsteps):
        slot = s % R_ev
        rex = ring_ex[s % R]
        rin = ring_in[s % R]
        for i in range(mv_n[slot]):
            v = mv_val[slot, i]
            if v >= 0.0:
                rex[mv_tgt[slot, i]] += v
            else:
                rin[mv_tgt[slot, i]] += v
        mv_n[slot] = 0
        et = ev_tgt[slot]
        ew = ev_w[slot]
        for i in range(ev_n[slot]):
            v = np.float64(ew[i])
            if v >= 0.0:
                rex[et[i]] += v
            else:
                rin[et[i]] += v
        ev_n[slot] = 0
