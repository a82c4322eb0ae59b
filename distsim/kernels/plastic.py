"""Delivery through plastic synapses (pure numba), NEST 3.10 semantics (see the declarations
in distsim/synapses): every weight update happens on the target's rank when the
presynaptic spike is delivered, spikes in (stamp, gid) order, so weights are the same for any
number of ranks. The whole delay is dendritic: a spike of stamp t through a synapse of delay
d reads the target's spike history in (t_last - d, t - d] and its trace K_minus just before
t - d, and reaches the target in step t - 1 + d.

Delivered values are float64 (the event pool of multiplicity events, kernels.delivery), so
the target receives the weight NEST computes, not a float32 rounding of it.

Postsynaptic history (NEST's ArchivingNode), per local neuron ``j``: a circular buffer of
``hlen[j]`` entries from ``head[j]`` in rows of ``ht`` (spike stamp, steps), ``hK`` (K_minus
just after that spike) and ``hc`` (how many incoming plastic synapses have read the entry);
``Kminus[j]``, ``last[j]`` (stamp of the last spike); ``n_in[j]`` incoming STDP synapses;
``maxd[j]`` their longest delay (steps); ``tmi[j]`` = 1/tau_minus (1/ms). An entry is dropped
as in NEST: read by all n_in synapses and followed by one more than maxd + min_delay steps
older than the new spike.
"""
import math
from collections import namedtuple

import numpy as np
from numba import njit

# kernel codes (distsim.synapses.base has the same; tests/unit/test_synapses.py checks)
KIND_STDP = 1
KIND_STDP_PL_HOM = 2
KIND_TSODYKS2 = 3


@njit(inline="always", cache=True)
def _push(pool, slot, t, v):
    """Append one event (target t, float64 value v) to the list of ``slot``."""
    ctgt, cval, nxt, head, tail, fill, free, n_free = pool
    C = ctgt.shape[1]
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
    ctgt[c, f] = t
    cval[c, f] = v
    fill[slot] = f + 1


@njit(cache=True)
def history_need(idx, n_out, hlen, n_in):
    """Largest history length any local neuron reaches when the ``n_out`` spikes of local
    neurons ``idx`` are added without pruning (the capacity that is always enough)."""
    extra = np.zeros(hlen.shape[0], np.int64)
    m = 0
    for i in range(n_out):
        j = idx[i]
        if n_in[j] > 0:
            extra[j] += 1
            m = max(m, hlen[j] + extra[j])
    return m


@njit(cache=True)
def record_post(idx, stamp, order, H, min_delay, dt):
    """Add the spikes (local neuron ``idx[q]``, stamp ``stamp[q]``) taken in ``order`` (time
    order per neuron) to the histories ``H`` = (ht, hK, hc, head, hlen, Kminus, last, n_in,
    maxd, tmi), pruning as NEST's ArchivingNode::set_spiketime. The capacity must suffice
    (history_need)."""
    ht, hK, hc, head, hlen, Kminus, last, n_in, maxd, tmi = H
    cap = ht.shape[1]
    for qq in range(order.shape[0]):
        q = order[qq]
        j = idx[q]
        s = stamp[q]
        if n_in[j] == 0:
            last[j] = s
            continue
        while hlen[j] > 1:
            h0 = head[j]
            nxt_t = ht[j, (h0 + 1) % cap]
            if hc[j, h0] >= n_in[j] and s - nxt_t > maxd[j] + min_delay:
                head[j] = (h0 + 1) % cap
                hlen[j] -= 1
            else:
                break
        Kminus[j] = Kminus[j] * math.exp((last[j] - s) * dt * tmi[j]) + 1.0
        last[j] = s
        p = (head[j] + hlen[j]) % cap
        ht[j, p] = s
        hK[j, p] = Kminus[j]
        hc[j, p] = 0
        hlen[j] += 1


@njit(inline="always", cache=True)
def _facilitate(kind, w, kplus, c):
    if kind == KIND_STDP:  # c = (tau_plus, lambda, alpha, mu_plus, mu_minus, Wmax)
        Wmax = c[5]
        norm_w = (w / Wmax) + (c[1] * (1.0 - (w / Wmax)) ** c[3] * kplus)
        return norm_w * Wmax if norm_w < 1.0 else Wmax
    # KIND_STDP_PL_HOM: c = (tau_plus, lambda, alpha, mu)
    return w + (c[1] * w ** c[3] * kplus)


@njit(inline="always", cache=True)
def _depress(kind, w, kminus, c):
    if kind == KIND_STDP:
        Wmax = c[5]
        norm_w = (w / Wmax) - (c[2] * c[1] * (w / Wmax) ** c[4] * kminus)
        return norm_w * Wmax if norm_w > 0.0 else 0.0
    new_w = w - (c[1] * c[2] * w * kminus)
    return new_w if new_w > 0.0 else 0.0


@njit(cache=True)
def _events_needed(gid, order, src_lo, row_ptr, C, R_ev):
    n_src = row_ptr.shape[0] - 1
    n_ev = 0
    for qq in range(order.shape[0]):
        s = gid[order[qq]] - src_lo
        if 0 <= s < n_src:
            n_ev += row_ptr[s + 1] - row_ptr[s]
    return n_ev, ((n_ev + C - 1) // C + R_ev if n_ev > 0 else 0)


@njit(cache=True)
def deliver_stdp(kind, c, gid, stamp, order, src_lo, row_ptr, tgt, w, d, d_const, Kplus, t_last,
                 H, k_at, k_val, dt, pool, R_ev):
    """Deliver the received spikes (``order``: (stamp, gid) order) of the sources of one STDP
    projection (kind KIND_STDP or KIND_STDP_PL_HOM, constants ``c``): update each synapse's
    weight ``w[k]`` from its source's ``Kplus``/``t_last`` and its target's history ``H``,
    append (target, weight) to the list of the arrival step in ``pool``, then advance the
    source's trace. Delays: ``d[k]`` steps, or ``d_const`` when ``d`` is empty. ``k_at``,
    ``k_val`` (per local neuron): scratch memo of the last K_minus computed (the time asked
    for, the value); reset here, as the histories change between calls.

    Returns (events, chunks the pool must have free): when it has fewer, nothing was done.
    """
    C = pool[0].shape[1]
    n_ev, need = _events_needed(gid, order, src_lo, row_ptr, C, R_ev)
    if pool[7][0] < need:
        return 0, need
    ht, hK, hc, head, hlen, Kminus, last, n_in, maxd, tmi = H
    cap = ht.shape[1]
    n_src = row_ptr.shape[0] - 1
    per_syn_delay = d.shape[0] > 0
    k_at[:] = -(1 << 62)
    tau_plus = c[0]
    tau_plus_inv = 1.0 / tau_plus
    for qq in range(order.shape[0]):
        q = order[qq]
        s = gid[q] - src_lo
        if s < 0 or s >= n_src:
            continue
        ts = stamp[q]
        tl = t_last[s]
        kp = Kplus[s]
        for k in range(row_ptr[s], row_ptr[s + 1]):
            j = tgt[k]
            dd = np.int64(d[k]) if per_syn_delay else d_const
            wk = w[k]
            n = hlen[j]
            h0 = head[j]
            # history entries with stamp in (tl - dd, ts - dd], oldest first
            e = n
            while e > 0 and ht[j, (h0 + e - 1) % cap] > ts - dd:
                e -= 1
            b = e
            while b > 0 and ht[j, (h0 + b - 1) % cap] > tl - dd:
                b -= 1
            for i in range(b, e):
                p = (h0 + i) % cap
                hc[j, p] += 1
                minus_dt = (tl - (ht[j, p] + dd)) * dt
                if kind == KIND_STDP:
                    kx = kp * math.exp(minus_dt / tau_plus)
                else:
                    kx = kp * math.exp(minus_dt * tau_plus_inv)
                wk = _facilitate(kind, wk, kx, c)
            # K_minus of the target strictly before ts - dd (memoised per target: the
            # synapses of the spikes of one stamp and delay ask for the same value)
            if k_at[j] == ts - dd:
                kminus = k_val[j]
            else:
                i = e - 1
                while i >= 0 and ht[j, (h0 + i) % cap] >= ts - dd:
                    i -= 1
                kminus = 0.0
                if i >= 0:
                    p = (h0 + i) % cap
                    kminus = hK[j, p] * math.exp((ht[j, p] - (ts - dd)) * dt * tmi[j])
                k_at[j] = ts - dd
                k_val[j] = kminus
            wk = _depress(kind, wk, kminus, c)
            w[k] = wk
            _push(pool, (ts - 1 + dd) % R_ev, j, wk)
        if kind == KIND_STDP:
            Kplus[s] = kp * math.exp((tl - ts) * dt / tau_plus) + 1.0
        else:
            Kplus[s] = kp * math.exp((tl - ts) * dt * tau_plus_inv) + 1.0
        t_last[s] = ts
    return n_ev, 0


@njit(cache=True)
def deliver_tsodyks2(c, gid, stamp, order, src_lo, row_ptr, tgt, w, d, d_const, u, x, t_last, dt,
                     pool, R_ev):
    """Deliver the received spikes of the sources of one tsodyks2_synapse projection
    (c = (U, tau_rec, tau_fac)): advance the source's u and x (NEST's order: x with the old
    u, then u) unless it is its first spike, and append (target, x u w[k]) to the list of the
    arrival step. Returns (events, chunks the pool must have free) as deliver_stdp."""
    C = pool[0].shape[1]
    n_ev, need = _events_needed(gid, order, src_lo, row_ptr, C, R_ev)
    if pool[7][0] < need:
        return 0, need
    U, tau_rec, tau_fac = c[0], c[1], c[2]
    n_src = row_ptr.shape[0] - 1
    per_syn_delay = d.shape[0] > 0
    for qq in range(order.shape[0]):
        q = order[qq]
        s = gid[q] - src_lo
        if s < 0 or s >= n_src:
            continue
        ts = stamp[q]
        if t_last[s] >= 0:
            h = (ts - t_last[s]) * dt
            x_decay = math.exp(-h / tau_rec)
            u_decay = 0.0 if tau_fac == 0.0 else math.exp(-h / tau_fac)
            xs = x[s]
            us = u[s]
            x[s] = 1.0 + (xs - xs * us - 1.0) * x_decay
            u[s] = U + us * (1.0 - U) * u_decay
        xu = x[s] * u[s]
        for k in range(row_ptr[s], row_ptr[s + 1]):
            dd = np.int64(d[k]) if per_syn_delay else d_const
            _push(pool, (ts - 1 + dd) % R_ev, tgt[k], xu * w[k])
        t_last[s] = ts
    return n_ev, 0


#: one plastic projection's table as the delivery kernels read it (engine.plastic builds it
#: from connectivity.plastic.PlasticTable, holding the very same arrays): ``kind`` (KIND_*;
#: 0: a placeholder that delivers nothing), constants ``c``, ``src_lo``, ``row_ptr``, ``tgt``,
#: ``w``, ``d``, ``d_const`` (see deliver_stdp), and the per-source state: ``a`` K_plus (STDP)
#: or u (tsodyks2), ``b`` unused (empty, STDP) or x (tsodyks2), ``t_last``
PlasticArgs = namedtuple("PlasticArgs", "kind c src_lo row_ptr tgt w d d_const a b t_last")


def placeholder_args():
    """A PlasticArgs of kind 0 (no synapses): the compiled loop's tuple of tables is never
    empty (numba's literal_unroll cannot iterate an empty tuple)."""
    f = np.zeros(0)
    return PlasticArgs(np.int64(0), f, np.int64(0), np.zeros(1, np.int64), np.zeros(0, np.uint32), f,
                       np.zeros(0, np.uint8), np.int64(0), f, f, np.zeros(0, np.int64))


@njit(cache=True)
def deliver_table(t, gid, stamp, order, H, k_at, k_val, dt, pool, R_ev):
    """Deliver received spikes through one plastic projection (PlasticArgs ``t``) with the
    kernel of its kind (deliver_stdp or deliver_tsodyks2). Returns (events, chunks the pool
    must have free) as they do."""
    if t.kind == KIND_TSODYKS2:
        return deliver_tsodyks2(t.c, gid, stamp, order, t.src_lo, t.row_ptr, t.tgt, t.w, t.d, t.d_const,
                                t.a, t.b, t.t_last, dt, pool, R_ev)
    if t.kind == KIND_STDP or t.kind == KIND_STDP_PL_HOM:
        return deliver_stdp(t.kind, t.c, gid, stamp, order, t.src_lo, t.row_ptr, t.tgt, t.w, t.d, t.d_const,
                            t.a, t.t_last, H, k_at, k_val, dt, pool, R_ev)
    return np.int64(0), np.int64(0)


@njit(cache=True)
def grow_history(H, cap):
    """The histories ``H`` with room for ``cap`` entries per neuron, each neuron's entries
    moved to the front (head 0) in their order; the per-neuron arrays are kept (head set
    to 0 in place)."""
    ht, hK, hc, head, hlen, Kminus, last, n_in, maxd, tmi = H
    n = ht.shape[0]
    old = ht.shape[1]
    ht2 = np.zeros((n, cap), ht.dtype)
    hK2 = np.zeros((n, cap), hK.dtype)
    hc2 = np.zeros((n, cap), hc.dtype)
    if old > 0:
        for j in range(n):
            for i in range(old):
                p = (head[j] + i) % old
                ht2[j, i] = ht[j, p]
                hK2[j, i] = hK[j, p]
                hc2[j, i] = hc[j, p]
    head[:] = 0
    return (ht2, hK2, hc2, head, hlen, Kminus, last, n_in, maxd, tmi)


@njit(cache=True)
def record_slice(idx, stamp, n_out, H, min_delay, dt):
    """Add one slice's spikes of local neurons (``idx[:n_out]``, ``stamp[:n_out]``) to the
    histories ``H``, growing them (doubling) when a neuron's history could overflow.
    Returns the histories (new arrays when grown)."""
    if n_out == 0:
        return H
    need = history_need(idx, n_out, H[4], H[7])
    cap = H[0].shape[1]
    if need > cap:
        while cap < need:
            cap *= 2
        H = grow_history(H, cap)
    order = np.argsort(stamp[:n_out], kind="mergesort")  # stable: time order per neuron
    record_post(idx, stamp, order, H, min_delay, dt)
    return H
