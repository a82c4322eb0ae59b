"""Neuron update kernels (pure numba): one call advances a contiguous range of local neurons
through a whole min-delay slice of steps. Ring buffers are indexed by local index
``lo + j``; the group's own state arrays by ``j``. Parameter arrays either all hold one
value per neuron or, when the whole group shares every parameter, all have length 1: the
kernels then hoist them out of the loop over neurons, which lets LLVM vectorise it (a
length test per parameter inside the loop kept it scalar, 5-7 ns instead of ~1 ns/neuron).

Step convention (NEST's): step ``s`` advances the state from ``s*dt`` to ``(s+1)*dt``; a spike
produced in step ``s`` carries the stamp ``s+1`` (its time is ``(s+1)*dt``) and reaches a
target with delay ``d`` steps in that target's step ``s+d`` (ring-buffer slot ``(s+d) % R``).
Input that arrives in step ``s`` is read from slot ``s % R`` and the slot is cleared.

Input gathered per neuron and step, always in the same order so sums do not depend on the
number of ranks: ring buffer (network spikes, in (stamp, gid) order), then each Poisson
generator entry in device order.
"""
import math

import numpy as np
from numba import njit

from .poisson import BRANCHLESS
from .rng import GOLDEN, mix64

_S1 = np.uint64(1)


@njit(inline="always", cache=True)
def _poisson_step(s, n, pb_j0, pb_j1, pb_kptr, pb_iptr, pb_tab, pb_w, pb_start, pb_stop,
                  pb_keys, pb_idx, tables, pex, pin):
    """Poisson input of step s for the group's n neurons into pex (w >= 0) and pin (w < 0).

    Block b covers group neurons j0..j1-1 (or, when pb_iptr[b] >= 0, the neurons listed in
    pb_idx from there), all with one CDF table (offset pb_tab[b] in ``tables``), weight
    pb_w[b] and active arrival steps [pb_start[b], pb_stop[b]). Blocks are in device order,
    so every neuron sums its inputs in the same order on any number of ranks. The table's
    first BRANCHLESS thresholds are hoisted out of the loop over neurons, which then
    vectorises (about 2 ns a draw).
    """
    for j in range(n):
        pex[j] = 0.0
        pin[j] = 0.0
    sg = np.uint64(s) * GOLDEN
    for b in range(pb_j0.shape[0]):
        if s < pb_start[b] or s >= pb_stop[b]:
            continue
        o = pb_tab[b]
        w = pb_w[b]
        kp = pb_kptr[b]
        thr = tables[o:o + BRANCHLESS].copy()  # a private copy: lets LLVM keep it in registers
        dest = pex if w >= 0.0 else pin
        j0 = pb_j0[b]
        nb = pb_j1[b] - j0
        ip = pb_iptr[b]
        tail = False
        if ip < 0:  # contiguous neurons: this loop vectorises (zero-based views help LLVM)
            kk = pb_keys[kp:kp + nb]
            dd = dest[j0:j0 + nb]
            for q in range(nb):
                u = np.int64(mix64(kk[q] + sg) >> _S1)
                k = 0
                for m in range(BRANCHLESS):
                    k += u >= thr[m]
                tail |= k == BRANCHLESS
                dd[q] += w * k
        else:
            kk = pb_keys[kp:kp + nb]
            ii = pb_idx[ip:ip + nb]
            for q in range(nb):
                u = np.int64(mix64(kk[q] + sg) >> _S1)
                k = 0
                for m in range(BRANCHLESS):
                    k += u >= thr[m]
                tail |= k == BRANCHLESS
                dest[ii[q]] += w * k
        if tail:  # rare: counts of BRANCHLESS or more continue the search in the full table
            for q in range(nb):
                u = np.int64(mix64(pb_keys[kp + q] + sg) >> _S1)
                k = BRANCHLESS
                if u >= tables[o + k - 1]:
                    while u >= tables[o + k]:
                        k += 1
                    j = j0 + q if ip < 0 else pb_idx[ip + q]
                    dest[j] += w * (k - BRANCHLESS)


@njit(inline="always", cache=True)
def _end_of_step(s, slot, lo, n, ring_cur, cur, spk, out_idx, out_stamp, n_out,
                 V, rec_idx, rec_buf, rec_interval, rec_row):
    """What every model does at the end of step s: read this step's current input (pA) into
    ``cur`` for the next step (NEST order), append the flagged spikes with stamp s + 1, and
    take a voltmeter sample of V (mV) when s + 1 is a multiple of the interval.
    Returns (spike count, next voltmeter row)."""
    if ring_cur.shape[0] > 0:
        for j in range(n):
            cur[j] = ring_cur[slot, lo + j]
            ring_cur[slot, lo + j] = 0.0
    for j in range(n):
        if spk[j]:
            out_idx[n_out] = lo + j
            out_stamp[n_out] = s + 1
            n_out += 1
    if rec_idx.shape[0] > 0 and (s + 1) % rec_interval == 0:
        for k in range(rec_idx.shape[0]):
            rec_buf[rec_row, k] = V[rec_idx[k] - lo]
        rec_row += 1
    return n_out, rec_row


@njit(inline="always", cache=True)
def _delta_neuron(j, V, refr, y0, rex, rin, pex, pin, spk,
                  P33, P30, E_L, I_e, V_th, V_reset, V_min, ref_steps):
    """One iaf_psc_delta neuron, one step (scalar parameters; branch-free selects)."""
    r = refr[j]
    inp = rex[j] + rin[j]
    inp += pex[j] + pin[j]
    v = P30 * (y0[j] + I_e) + P33 * (V[j] - E_L) + inp
    v = max(v, V_min - E_L)
    vm = E_L + v if r == 0 else V[j]
    r = r - 1 if r > 0 else r
    spike = vm >= V_th
    V[j] = V_reset if spike else vm
    refr[j] = ref_steps if spike else r
    spk[j] = spike
    rex[j] = 0.0
    rin[j] = 0.0


@njit(inline="always", cache=True)
def _exp_neuron(j, V, refr, i0, I_syn_ex, I_syn_in, rex, rin, pex, pin, spk,
                P22, P11_ex, P11_in, P21_ex, P21_in, P20, E_L, I_e, V_th, V_reset, ref_steps):
    """One iaf_psc_exp neuron, one step (scalar parameters; branch-free selects)."""
    r = refr[j]
    v = E_L + ((V[j] - E_L) * P22 + I_syn_ex[j] * P21_ex + I_syn_in[j] * P21_in + (I_e + i0[j]) * P20)
    vm = v if r == 0 else V[j]
    r = r - 1 if r > 0 else r
    ie = I_syn_ex[j] * P11_ex
    ie += rex[j] + pex[j]
    ii = I_syn_in[j] * P11_in
    ii += rin[j] + pin[j]
    I_syn_ex[j] = ie
    I_syn_in[j] = ii
    spike = vm >= V_th
    V[j] = V_reset if spike else vm
    refr[j] = ref_steps if spike else r
    spk[j] = spike
    rex[j] = 0.0
    rin[j] = 0.0


@njit(cache=True)
def update_iaf_psc_delta(t0, nsteps, lo, hi, R, V, refr, y0,
                         P33, P30, E_L, I_e, V_th, V_reset, V_min, ref_steps,
                         ring_ex, ring_in, ring_cur,
                         pb_j0, pb_j1, pb_kptr, pb_iptr, pb_tab, pb_w, pb_start, pb_stop, pb_keys, pb_idx,
                         tables, pex, pin, spk,
                         out_idx, out_stamp, n_out,
                         rec_idx, rec_buf, rec_interval, rec_row0):
    """Advance iaf_psc_delta neurons lo..hi-1 over steps t0..t0+nsteps-1 (NEST update order).

    V (mV, absolute), refr (remaining refractory steps) and y0 (pA, current input of the
    previous step) are updated in place. Spikes are appended to (out_idx, out_stamp) from
    position n_out. Voltmeter samples of V at the end of every step
    whose stamp is a multiple of rec_interval go to rec_buf rows from rec_row0 on.
    Returns (new spike count, next free voltmeter row).
    """
    rec_row = rec_row0
    n = hi - lo
    shared = P33.shape[0] == 1  # the engine passes all parameters shared or all per neuron
    for s in range(t0, t0 + nsteps):
        slot = s % R
        _poisson_step(s, n, pb_j0, pb_j1, pb_kptr, pb_iptr, pb_tab, pb_w, pb_start,
                      pb_stop, pb_keys, pb_idx, tables, pex, pin)
        rex = ring_ex[slot, lo:hi]  # zero-based row views: the loop below vectorises
        rin = ring_in[slot, lo:hi]
        if shared:  # parameters hoisted into registers: this loop vectorises (~1 ns/neuron)
            for j in range(n):
                _delta_neuron(j, V, refr, y0, rex, rin, pex, pin, spk, P33[0], P30[0], E_L[0],
                              I_e[0], V_th[0], V_reset[0], V_min[0], ref_steps[0])
        else:
            for j in range(n):
                _delta_neuron(j, V, refr, y0, rex, rin, pex, pin, spk, P33[j], P30[j], E_L[j],
                              I_e[j], V_th[j], V_reset[j], V_min[j], ref_steps[j])
        n_out, rec_row = _end_of_step(s, slot, lo, n, ring_cur, y0, spk, out_idx, out_stamp, n_out,
                                      V, rec_idx, rec_buf, rec_interval, rec_row)
    return n_out, rec_row


@njit(cache=True)
def update_iaf_psc_exp(t0, nsteps, lo, hi, R, V, refr, i0, I_syn_ex, I_syn_in,
                       P22, P11_ex, P11_in, P21_ex, P21_in, P20, E_L, I_e, V_th, V_reset,
                       ref_steps,
                       ring_ex, ring_in, ring_cur,
                       pb_j0, pb_j1, pb_kptr, pb_iptr, pb_tab, pb_w, pb_start, pb_stop, pb_keys, pb_idx,
                         tables, pex, pin, spk,
                       out_idx, out_stamp, n_out,
                       rec_idx, rec_buf, rec_interval, rec_row0):
    """Advance iaf_psc_exp neurons lo..hi-1 over steps t0..t0+nsteps-1 (NEST update order).

    State in place: V (mV, absolute), refr (steps), i0 (pA, current input of the previous
    step), I_syn_ex, I_syn_in (pA). While refractory V stays at V_reset and the synaptic
    currents keep decaying and receiving input. Returns (new spike count, next free voltmeter row), as the delta kernel.
    """
    rec_row = rec_row0
    n = hi - lo
    shared = P22.shape[0] == 1  # the engine passes all parameters shared or all per neuron
    for s in range(t0, t0 + nsteps):
        slot = s % R
        _poisson_step(s, n, pb_j0, pb_j1, pb_kptr, pb_iptr, pb_tab, pb_w, pb_start,
                      pb_stop, pb_keys, pb_idx, tables, pex, pin)
        rex = ring_ex[slot, lo:hi]  # zero-based row views: the loop below vectorises
        rin = ring_in[slot, lo:hi]
        if shared:  # parameters hoisted into registers: this loop vectorises (~1 ns/neuron)
            for j in range(n):
                _exp_neuron(j, V, refr, i0, I_syn_ex, I_syn_in, rex, rin, pex, pin, spk,
                            P22[0], P11_ex[0], P11_in[0], P21_ex[0], P21_in[0], P20[0], E_L[0],
                            I_e[0], V_th[0], V_reset[0], ref_steps[0])
        else:
            for j in range(n):
                _exp_neuron(j, V, refr, i0, I_syn_ex, I_syn_in, rex, rin, pex, pin, spk,
                            P22[j], P11_ex[j], P11_in[j], P21_ex[j], P21_in[j], P20[j], E_L[j],
                            I_e[j], V_th[j], V_reset[j], ref_steps[j])
        n_out, rec_row = _end_of_step(s, slot, lo, n, ring_cur, i0, spk, out_idx, out_stamp, n_out,
                                      V, rec_idx, rec_buf, rec_interval, rec_row)
    return n_out, rec_row


def propagators_psc_exp(h, tau_m, tau_syn, C_m):
    """(P22, P11, P21) of iaf_psc_exp for step h (ms); P21 in mV/pA.

    P21 = tau_s*tau_m/(C_m*(tau_m - tau_s)) * (exp(-h/tau_m) - exp(-h/tau_s)) written as
    h/C_m * exp(-h/tau_m) * (-expm1(-x)/x), x = h*(1/tau_s - 1/tau_m): no cancellation when
    tau_s is close to tau_m, and the exact limit h/C_m*exp(-h/tau_m) when they are equal.
    Works on numpy arrays.
    """
    import numpy as np

    tau_m = np.asarray(tau_m, dtype=np.float64)
    tau_syn = np.asarray(tau_syn, dtype=np.float64)
    C_m = np.asarray(C_m, dtype=np.float64)
    P22 = np.exp(-h / tau_m)
    P11 = np.exp(-h / tau_syn)
    x = h * (1.0 / tau_syn - 1.0 / tau_m)
    small = np.abs(x) < 1e-5
    xs = np.where(small, 1.0, x)
    f = np.where(small, 1.0 - x / 2.0 + x * x / 6.0, -np.expm1(-xs) / xs)
    P21 = h / C_m * P22 * f
    return P22, P11, P21
