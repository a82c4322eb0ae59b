"""Generalized integrate-and-fire kernels (pure numba): ``gif_psc_exp`` neurons and the
``gif_pop_psc_exp`` mesoscopic population node of Schwalger, Deger & Gerstner (2017).

Both follow NEST 3.10's update order and step convention (see kernels.neurons): network input
of step s is read from input row ``s % R``; current input read at the end of step s acts from
step s + 1 on; an output produced in step s carries the stamp s + 1.

Random numbers are counter-based: neuron (or node) ``gid`` draws its step-s number from the
stream keyed by (seed, TAG_ESCAPE, gid), position s. Nothing depends on the number of ranks.
"""
import math

import numpy as np
from numba import njit

from .neurons import _end_of_step, _poisson_step
from .rng import uniform

# variables a gif_pop_psc_exp multimeter can sample (codes of rec_codes)
POP_RECORDABLES = {"V_m": ("mV", 0), "n_events": ("1", 1), "mean": ("1", 2), "E_sfa": ("mV", 3),
                   "I_syn_ex": ("pA", 4), "I_syn_in": ("pA", 5)}


@njit(inline="always", cache=True)
def _p(a, j):
    """Parameter value of neuron j: arrays are per neuron, or of length 1 when shared."""
    return a[0] if a.shape[0] == 1 else a[j]


@njit(cache=True)
def update_gif_psc_exp(t0, nsteps, lo, hi, R, V, refr, i0, I_syn_ex, I_syn_in, sfa_el, stc_el,
                       keys, h, P33, P30, P31, P11_ex, P11_in, P21_ex, P21_in, E_L, I_e,
                       V_reset, V_T_star, Delta_V, lambda_0, ref_steps, q_sfa, P_sfa, q_stc, P_stc,
                       ring_ex, ring_in, ring_cur,
                       pb_j0, pb_j1, pb_kptr, pb_iptr, pb_tab, pb_w, pb_start, pb_stop, pb_keys,
                       pb_idx, tables, pex, pin, spk,
                       out_idx, out_stamp, n_out, rec_idx, rec_buf, rec_interval, rec_row0):
    """Advance gif_psc_exp neurons lo..hi-1 over steps t0..t0+nsteps-1 (NEST's order).

    Per step: the adaptation sums (threshold E_sfa = V_T_star + sum of sfa_el, mV; current
    I_stc = sum of stc_el, pA) are taken and their elements decay; the synaptic currents
    (pA) decay and take this step's input; a neuron that is not refractory integrates
    V (mV) exactly and fires with probability 1 - exp(-lambda h), lambda = lambda_0
    exp((V - E_sfa) / Delta_V) (lambda_0 in 1/ms here), which adds q_sfa / q_stc to the
    elements and starts t_ref; a refractory neuron counts down with V held at V_reset.
    sfa_el / stc_el are [neuron, component]; q_* / P_* are [neuron or 1, component] (zero
    padding where a population has fewer components). Returns (spike count, next voltmeter
    row).
    """
    rec_row = rec_row0
    n = hi - lo
    ksfa = sfa_el.shape[1]
    kstc = stc_el.shape[1]
    for s in range(t0, t0 + nsteps):
        slot = s % R
        _poisson_step(s, n, pb_j0, pb_j1, pb_kptr, pb_iptr, pb_tab, pb_w, pb_start,
                      pb_stop, pb_keys, pb_idx, tables, pex, pin)
        rex = ring_ex[slot, lo:hi]
        rin = ring_in[slot, lo:hi]
        for j in range(n):
            qj = 0 if q_sfa.shape[0] == 1 else j
            stc = 0.0
            for c in range(kstc):
                stc += stc_el[j, c]
                stc_el[j, c] *= P_stc[qj, c]
            sfa = _p(V_T_star, j)
            for c in range(ksfa):
                sfa += sfa_el[j, c]
                sfa_el[j, c] *= P_sfa[qj, c]
            ie = I_syn_ex[j] * _p(P11_ex, j) + rex[j] + pex[j]
            ii = I_syn_in[j] * _p(P11_in, j) + rin[j] + pin[j]
            I_syn_ex[j] = ie
            I_syn_in[j] = ii
            rex[j] = 0.0
            rin[j] = 0.0
            spike = False
            if refr[j] == 0:
                v = (_p(P30, j) * (i0[j] + _p(I_e, j) - stc) + _p(P33, j) * V[j]
                     + _p(P31, j) * _p(E_L, j) + ie * _p(P21_ex, j) + ii * _p(P21_in, j))
                V[j] = v
                lam = _p(lambda_0, j) * math.exp((v - sfa) / _p(Delta_V, j))
                if lam > 0.0 and uniform(keys[j], s) < -math.expm1(-lam * h):
                    spike = True
                    for c in range(kstc):
                        stc_el[j, c] += q_stc[qj, c]
                    for c in range(ksfa):
                        sfa_el[j, c] += q_sfa[qj, c]
                    refr[j] = _p(ref_steps, j)
            else:
                refr[j] -= 1
                V[j] = _p(V_reset, j)
            spk[j] = spike
        n_out, rec_row = _end_of_step(s, slot, lo, n, ring_cur, i0, spk, out_idx, out_stamp,
                                      n_out, V, rec_idx, rec_buf, rec_interval, rec_row)
    return n_out, rec_row


# ------------------------------------------------------------------ mesoscopic population

@njit(cache=True)
def binomial(n, p, key, counter):
    """A Binomial(n, p) count (int) from uniform number ``counter`` of stream ``key``.

    Exact inversion over the outcomes ordered outward from the mode (m, m+1, m-1, m+2, ...):
    any fixed order of the outcomes gives an exact sample, and this one needs about one
    standard deviation of terms. The mode's probability comes from lgamma.
    """
    if p <= 0.0 or n <= 0:
        return 0
    if p >= 1.0:
        return n
    u = uniform(key, counter)
    m = int(math.floor((n + 1) * p))
    if m > n:
        m = n
    lq = math.log1p(-p)
    lp = math.log(p)
    pm = math.exp(math.lgamma(n + 1.0) - math.lgamma(m + 1.0) - math.lgamma(n - m + 1.0)
                  + m * lp + (n - m) * lq)
    odds = p / (1.0 - p)
    acc = pm
    if u < acc:
        return m
    up, pu = m, pm  # last outcome taken above the mode and its probability
    dn, pd = m, pm  # last outcome taken below the mode and its probability
    while up < n or dn > 0:
        if up < n:
            pu *= (n - up) / (up + 1.0) * odds
            up += 1
            acc += pu
            if u < acc:
                return up
        if dn > 0:
            pd *= dn / ((n - dn + 1.0) * odds)
            dn -= 1
            acc += pd
            if u < acc:
                return dn
    return m  # rounding left u above the summed probabilities (total mass 1 - O(1e-16))


@njit(cache=True)
def poisson_count(mean, key, counter):
    """A Poisson(mean) count by inversion (outward from the mode, as :func:`binomial`)."""
    if mean <= 0.0:
        return 0
    u = uniform(key, counter)
    m = int(math.floor(mean))
    pm = math.exp(m * math.log(mean) - mean - math.lgamma(m + 1.0))
    acc = pm
    if u < acc:
        return m
    up, pu, dn, pd = m, pm, m, pm
    while True:
        pu *= mean / (up + 1.0)
        up += 1
        acc += pu
        if u < acc:
            return up
        if dn > 0:
            pd *= dn / mean
            dn -= 1
            acc += pd
            if u < acc:
                return dn
        if pu < 1e-300 and dn == 0:
            return m


@njit(inline="always", cache=True)
def _history_pass(nh, mh, vh, uh, lh, theta, theta_tld, k0, L, n_free, th, h_tot,
                  E_L, P22, lambda_0, Delta_V, h):
    """One step of the history bins km = 0 .. n_free-1 (bin k = (k0 + km) mod L, oldest
    first): membrane u, hazard, firing probability, survivors m and variance v. Returns the
    sums (W, Y, Z) of the paper's Fig. 12 and the accumulated threshold th. Written as two
    contiguous runs (k0..L-1, then 0..) so no index wraps inside the loops."""
    W = 0.0
    Y = 0.0
    Z = 0.0
    first = min(n_free, L - k0)
    for part in range(2):
        if part == 0:
            kb, km0, cnt = k0, 0, first
        else:
            kb, km0, cnt = 0, first, n_free - first
        for q in range(cnt):
            k = kb + q
            km = km0 + q
            thr = theta[km] + th
            th += nh[k] * theta_tld[km]
            u = (uh[k] - E_L) * P22 + h_tot
            uh[k] = u
            lam = lambda_0 * math.exp((u - thr) / Delta_V)
            Pl = 0.0005 * (lam + lh[k]) * h
            if Pl > 0.01:
                Pl = 1.0 - math.exp(-Pl)
            lh[k] = lam
            vk = vh[k]
            mk = mh[k]
            Y += Pl * vk
            Z += vk
            W += Pl * mk
            ompl = 1.0 - Pl
            vh[k] = ompl * ompl * vk + Pl * mk
            mh[k] = ompl * mk
    return W, Y, Z, th


@njit(cache=True)
def update_gif_pop_psc_exp(t0, nsteps, lo, hi, R, V, I_syn_ex, I_syn_in, i0, scal, kint,
                           n_hist, m_hist, v_hist, u_hist, lam_hist, g_sfa,
                           keys, h, N, L, k_ref, P22, P20, P11_ex, P11_in, P21_ex, P21_in,
                           tau_m, tau_syn_ex, tau_syn_in, C_m, E_L, I_e, V_reset, V_T_star,
                           Delta_V, lambda_0, theta, theta_tld, Q30, Q30K, bino,
                           ring_ex, ring_in, ring_cur,
                           pb_j0, pb_j1, pb_kptr, pb_iptr, pb_tab, pb_w, pb_start, pb_stop,
                           pb_keys, pb_idx, tables, pex, pin, spk,
                           out_idx, out_stamp, out_mult, n_out,
                           rec_idx, rec_codes, rec_buf, rec_interval, rec_row0):
    """Advance gif_pop_psc_exp nodes lo..hi-1 over steps t0..t0+nsteps-1.

    Each node stands for N GIF neurons (escape rate lambda_0 exp((u - theta)/Delta_V), 1/s;
    threshold adaptation sum_k q_sfa_k exp(-t/tau_sfa_k)) and advances them with the
    refractory-density / quasi-renewal algorithm of Schwalger et al. 2017 (Figs. 11-12):
    a history of L bins (rotating index kint[j, 0]) of spike numbers n, survivors m, variance
    v, membrane potential u (mV) and hazard lambda (1/s) of the neurons that last fired in
    that bin; neurons older than the history form the free pool x (expected number) with
    variance z. The expected number of spikes of the step (``mean``) is the sum of the
    bins' hazard times survivors plus the free pool's plus a finite-size correction; the
    number emitted is Binomial(N, mean / N) (Poisson if ``bino`` is 0) and leaves as one
    output record with that multiplicity.

    Input (NEST's gif_pop_psc_exp): network input (pA, weight x multiplicity) of the step
    drives exponential synaptic currents I_syn_ex / I_syn_in (pA), integrated exactly with
    the membrane over the step; current input (pA) read at the end of a step acts from the
    next. scal[j] holds (lambda_free, x, z, mean, E_sfa); kint[j] holds (k0, n_events).
    Per-node parameter arrays have one entry per node; history arrays are [node, L_max].
    Voltmeter columns are variable-major: rec_buf[row, v * n_rec + k] holds variable
    rec_codes[v] of node rec_idx[k]. Returns (output count, next voltmeter row).
    """
    rec_row = rec_row0
    n = hi - lo
    nrec = rec_idx.shape[0]
    for s in range(t0, t0 + nsteps):
        slot = s % R
        _poisson_step(s, n, pb_j0, pb_j1, pb_kptr, pb_iptr, pb_tab, pb_w, pb_start,
                      pb_stop, pb_keys, pb_idx, tables, pex, pin)
        for j in range(n):
            Nj = N[j]
            Lj = L[j]
            # membrane and synapses over the step (input A held constant within the step)
            h_tot = (I_e[j] + i0[j]) * P20[j] + E_L[j]
            A_ex = (ring_ex[slot, lo + j] + pex[j]) / h * tau_syn_ex[j] / C_m[j]
            A_in = (ring_in[slot, lo + j] + pin[j]) / h * tau_syn_in[j] / C_m[j]
            ring_ex[slot, lo + j] = 0.0
            ring_in[slot, lo + j] = 0.0
            y_ex = I_syn_ex[j] / C_m[j]
            y_in = I_syn_in[j] / C_m[j]
            # exact drive of a current relaxing from y to A with tau_syn (P21 is stable for
            # tau_syn close to tau_m, where NEST's closed form divides by zero)
            h_tot += (tau_m[j] * A_ex * (1.0 - P22[j]) + C_m[j] * P21_ex[j] * (y_ex - A_ex)
                      + tau_m[j] * A_in * (1.0 - P22[j]) + C_m[j] * P21_in[j] * (y_in - A_in))
            I_syn_ex[j] = (A_ex + (y_ex - A_ex) * P11_ex[j]) * C_m[j]
            I_syn_in[j] = (A_in + (y_in - A_in) * P11_in[j]) * C_m[j]
            # population update (Fig. 12 of the paper)
            k0 = kint[j, 0]
            V[j] = (V[j] - E_L[j]) * P22[j] + h_tot
            th_free = V_T_star[j]
            for c in range(g_sfa.shape[1]):  # activity older than the history
                g_sfa[j, c] = g_sfa[j, c] * Q30[j, c] + (1.0 - Q30[j, c]) * n_hist[j, k0] / (Nj * h)
                th_free += Q30K[j, c] * g_sfa[j, c]
            lam_free = lambda_0[j] * math.exp((V[j] - th_free) / Delta_V[j])
            P_free = 1.0 - math.exp(-0.0005 * (scal[j, 0] + lam_free) * h)
            scal[j, 0] = lam_free
            scal[j, 4] = th_free
            th = th_free - n_hist[j, k0] * theta_tld[j, 0]
            X = 0.0
            nh = n_hist[j]  # row views of this node's history (1-D, contiguous)
            mh = m_hist[j]
            for k in range(Lj):
                X += mh[k]
            # oldest bin first (from the rotating index k0); refractory bins excluded
            W, Y, Z, th = _history_pass(nh, mh, v_hist[j], u_hist[j], lam_hist[j], theta[j],
                                        theta_tld[j], k0, Lj, Lj - k_ref[j], th, h_tot,
                                        E_L[j], P22[j], lambda_0[j], Delta_V[j], h)
            x = scal[j, 1]
            z = scal[j, 2]
            P_Lam = (Y + P_free * z) / (Z + z) if Z + z > 0.0 else 0.0
            mean = W + P_free * x + P_Lam * (Nj - X - x)
            scal[j, 3] = mean
            Ni = int(Nj)
            if bino[j] != 0.0:
                ns = binomial(Ni, mean / Nj, keys[j], s)
            else:
                ns = min(poisson_count(mean, keys[j], s), Ni) if mean < Nj else Ni
            ompf = 1.0 - P_free
            scal[j, 2] = ompf * ompf * z + x * P_free + v_hist[j, k0]
            scal[j, 1] = x * ompf + m_hist[j, k0]
            n_hist[j, k0] = ns
            m_hist[j, k0] = ns
            v_hist[j, k0] = 0.0
            u_hist[j, k0] = V_reset[j]
            lam_hist[j, k0] = 0.0
            kint[j, 0] = k0 + 1 if k0 + 1 < Lj else 0
            kint[j, 1] = ns
            if ns > 0:
                out_idx[n_out] = lo + j
                out_stamp[n_out] = s + 1
                out_mult[n_out] = ns
                n_out += 1
        if ring_cur.shape[0] > 0:
            for j in range(n):
                i0[j] = ring_cur[slot, lo + j]
                ring_cur[slot, lo + j] = 0.0
        if nrec > 0 and (s + 1) % rec_interval == 0:
            for v in range(rec_codes.shape[0]):
                code = rec_codes[v]
                for k in range(nrec):
                    j = rec_idx[k] - lo
                    if code == 0:
                        val = V[j]
                    elif code == 1:
                        val = float(kint[j, 1])
                    elif code == 2:
                        val = scal[j, 3]
                    elif code == 3:
                        val = scal[j, 4]
                    elif code == 4:
                        val = I_syn_ex[j]
                    else:
                        val = I_syn_in[j]
                    rec_buf[rec_row, v * nrec + k] = val
            rec_row += 1
    return n_out, rec_row


def adaptation_kernel(k, h, q_sfa, tau_sfa):
    """Threshold kernel sum_c q_sfa[c] exp(-k h / tau_sfa[c]) (mV) at lags of k steps (a
    number or an array of lags; zeros without components)."""
    k = np.asarray(k, dtype=np.float64)
    return sum((q * np.exp(-k * h / t) for q, t in zip(q_sfa, tau_sfa)), np.zeros_like(k))


def history_length(h, tau_m, t_ref, Delta_V, q_sfa, tau_sfa):
    """Automatic history length (steps) of gif_pop_psc_exp (the paper's GetHistoryLength):
    the shortest lag, at least 5 tau_m and at most 20 s, beyond which the adaptation kernel
    stays below Delta_V / 10; longer than t_ref in any case."""
    kmax = int(20000.0 / h)
    kmin = int(5 * tau_m / h)
    k = kmax
    if kmax > kmin:  # the largest lag in (kmin, kmax] where the kernel reaches Delta_V / 10
        lags = np.arange(kmin + 1, kmax + 1)
        kern = adaptation_kernel(lags, h, q_sfa, tau_sfa)
        above = np.flatnonzero(kern / Delta_V >= 0.1)
        k = int(lags[above[-1]]) if above.size else kmin
    if k * h <= t_ref:
        k = int(t_ref / h) + 1
    return k
