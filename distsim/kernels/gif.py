"""Generalized integrate-and-fire kernels (pure numba): ``gif_psc_exp`` neurons and the
``gif_pop_psc_exp`` mesoscopic population node of Schwalger, Deger & Gerstner (2017).

Both are per-neuron (per-node) functions run by the generic driver (kernels.driver) and
follow NEST 3.10's update order and step convention (see kernels.neurons): network input
of step s is read from input row ``s % R``; current input read at the end of step s acts from
step s + 1 on; an output produced in step s carries the stamp s + 1.

Random numbers are counter-based: neuron (or node) ``gid`` draws its step-s number from the
stream keyed by (seed, TAG_ESCAPE, gid), position s. Nothing depends on the number of ranks.
"""
import math

import numpy as np
from numba import njit

from . import libm
from .rng import uniform


@njit(cache=True)
def gif_psc_exp_block(n, S, P, shared, x, spk):
    """Advance the n gif_psc_exp neurons of a group by one step (NEST's order); spk[j] = 1
    where neuron j fired.

    Per neuron: the adaptation sums (threshold E_sfa = V_T_star + sum of sfa_el, mV; current
    I_stc = sum of stc_el, pA) are taken and their elements decay; the synaptic currents
    (pA) decay and take this step's input; a neuron that is not refractory integrates
    V (mV) exactly and fires with probability 1 - exp(-lambda h), lambda = lambda_0
    exp((V - E_sfa) / Delta_V) (P.lambda_0_per_ms, 1/ms), which adds q_sfa / q_stc to the
    elements and starts t_ref; a refractory neuron counts down with V held at V_reset.
    S.sfa_el / S.stc_el are [neuron, component]; P.q_* / P.P_* [neuron or 1, component]
    (zero padding where a population has fewer components). The random number of step s
    is number s of the neuron's stream x.keys[j]. Every array is bound before the loop:
    taking one out of a tuple inside it costs a reference count per neuron.
    """
    V, refr, sfa_el, stc_el, i0 = S.V, S.refr, S.sfa_el, S.stc_el, S.i0
    I_syn_ex, I_syn_in = S.I_syn_ex, S.I_syn_in
    rex, rin, pex, pin, keys, s = x.rex, x.rin, x.pex, x.pin, x.keys, x.s
    P_stc, P_sfa, q_stc, q_sfa = P.P_stc, P.P_sfa, P.q_stc, P.q_sfa
    V_T_star, P11_ex, P11_in, P30, P33, P31 = P.V_T_star, P.P11_ex, P.P11_in, P.P30, P.P33, P.P31
    I_e, E_L, P21_ex, P21_in, lambda_0 = P.I_e, P.E_L, P.P21_ex, P.P21_in, P.lambda_0_per_ms
    Delta_V, h, ref_steps, V_reset = P.Delta_V, P.h, P.ref_steps, P.V_reset
    for j in range(n):
        k = 0 if shared else j
        stc = 0.0
        for c in range(stc_el.shape[1]):
            stc += stc_el[j, c]
            stc_el[j, c] *= P_stc[k, c]
        sfa = V_T_star[k]
        for c in range(sfa_el.shape[1]):
            sfa += sfa_el[j, c]
            sfa_el[j, c] *= P_sfa[k, c]
        ie = I_syn_ex[j] * P11_ex[k] + rex[j] + pex[j]
        ii = I_syn_in[j] * P11_in[k] + rin[j] + pin[j]
        I_syn_ex[j] = ie
        I_syn_in[j] = ii
        spike = 0
        if refr[j] == 0:
            v = (P30[k] * (i0[j] + I_e[k] - stc) + P33[k] * V[j]
                 + P31[k] * E_L[k] + ie * P21_ex[k] + ii * P21_in[k])
            V[j] = v
            lam = lambda_0[k] * math.exp((v - sfa) / Delta_V[k])
            if lam > 0.0 and uniform(keys[j], s) < -math.expm1(-lam * h[k]):
                spike = 1
                for c in range(stc_el.shape[1]):
                    stc_el[j, c] += q_stc[k, c]
                for c in range(sfa_el.shape[1]):
                    sfa_el[j, c] += q_sfa[k, c]
                refr[j] = ref_steps[k]
        else:
            refr[j] -= 1
            V[j] = V_reset[k]
        spk[j] = spike


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


@njit(inline="always", cache=True)
def gif_pop_psc_exp_node(j, S, p, x):
    """Advance gif_pop_psc_exp node j by one step; returns its number of spikes.

    The node stands for N GIF neurons (escape rate lambda_0 exp((u - theta)/Delta_V), 1/s;
    threshold adaptation sum_k q_sfa_k exp(-t/tau_sfa_k)) and advances them with the
    refractory-density / quasi-renewal algorithm of Schwalger et al. 2017 (Figs. 11-12):
    a history of L bins (rotating index S.k0) of spike numbers n, survivors m, variance
    v, membrane potential u (mV) and hazard lambda (1/s) of the neurons that last fired in
    that bin; neurons older than the history form the free pool x (expected number) with
    variance z. The expected number of spikes of the step (``mean``) is the sum of the
    bins' hazard times survivors plus the free pool's plus a finite-size correction; the
    number emitted is Binomial(N, mean / N) (Poisson if ``BinoRand`` is 0) and leaves as one
    output record with that multiplicity.

    Input (NEST's gif_pop_psc_exp): network input (pA, weight x multiplicity) of the step
    drives exponential synaptic currents I_syn_ex / I_syn_in (pA), integrated exactly with
    the membrane over the step; current input (pA) read at the end of a step acts from the
    next. History arrays are [node, L_max]; p's history constants are this node's rows.
    """
    h = p.h
    V = S.V
    Nj = p.N
    Lj = p.L
    # membrane and synapses over the step (input A held constant within the step)
    h_tot = (p.I_e + S.i0[j]) * p.P20 + p.E_L
    A_ex = (x.rex[j] + x.pex[j]) / h * p.tau_syn_ex / p.C_m
    A_in = (x.rin[j] + x.pin[j]) / h * p.tau_syn_in / p.C_m
    y_ex = S.I_syn_ex[j] / p.C_m
    y_in = S.I_syn_in[j] / p.C_m
    # exact drive of a current relaxing from y to A with tau_syn (P21 is stable for
    # tau_syn close to tau_m, where NEST's closed form divides by zero)
    h_tot += (p.tau_m * A_ex * (1.0 - p.P22) + p.C_m * p.P21_ex * (y_ex - A_ex)
              + p.tau_m * A_in * (1.0 - p.P22) + p.C_m * p.P21_in * (y_in - A_in))
    S.I_syn_ex[j] = (A_ex + (y_ex - A_ex) * p.P11_ex) * p.C_m
    S.I_syn_in[j] = (A_in + (y_in - A_in) * p.P11_in) * p.C_m
    # population update (Fig. 12 of the paper)
    k0 = S.k0[j]
    n_hist = S.n_hist
    V[j] = (V[j] - p.E_L) * p.P22 + h_tot
    th_free = p.V_T_star
    g_sfa = S.g_sfa
    for c in range(g_sfa.shape[1]):  # activity older than the history
        g_sfa[j, c] = g_sfa[j, c] * p.Q30[c] + (1.0 - p.Q30[c]) * n_hist[j, k0] / (Nj * h)
        th_free += p.Q30K[c] * g_sfa[j, c]
    lam_free = p.lambda_0 * math.exp((V[j] - th_free) / p.Delta_V)
    P_free = 1.0 - math.exp(-0.0005 * (S.lam_free[j] + lam_free) * h)
    S.lam_free[j] = lam_free
    S.E_sfa[j] = th_free
    th = th_free - n_hist[j, k0] * p.theta_tld[0]
    X = 0.0
    nh = n_hist[j]  # row views of this node's history (1-D, contiguous)
    mh = S.m_hist[j]
    for k in range(Lj):
        X += mh[k]
    # oldest bin first (from the rotating index k0); refractory bins excluded
    W, Y, Z, th = _history_pass(nh, mh, S.v_hist[j], S.u_hist[j], S.lam_hist[j], p.theta,
                                p.theta_tld, k0, Lj, Lj - p.k_ref, th, h_tot,
                                p.E_L, p.P22, p.lambda_0, p.Delta_V, h)
    xf = S.x_free[j]
    z = S.z_free[j]
    P_Lam = (Y + P_free * z) / (Z + z) if Z + z > 0.0 else 0.0
    mean = W + P_free * xf + P_Lam * (Nj - X - xf)
    S.mean[j] = mean
    Ni = int(Nj)
    if p.BinoRand != 0.0:
        ns = binomial(Ni, mean / Nj, x.keys[j], x.s)
    else:
        ns = min(poisson_count(mean, x.keys[j], x.s), Ni) if mean < Nj else Ni
    ompf = 1.0 - P_free
    S.z_free[j] = ompf * ompf * z + xf * P_free + S.v_hist[j, k0]
    S.x_free[j] = xf * ompf + S.m_hist[j, k0]
    n_hist[j, k0] = ns
    S.m_hist[j, k0] = ns
    S.v_hist[j, k0] = 0.0
    S.u_hist[j, k0] = p.V_reset
    S.lam_hist[j, k0] = 0.0
    S.k0[j] = k0 + 1 if k0 + 1 < Lj else 0
    S.n_events[j] = ns
    return ns


def adaptation_kernel(k, h, q_sfa, tau_sfa):
    """Threshold kernel sum_c q_sfa[c] exp(-k h / tau_sfa[c]) (mV) at lags of k steps (a
    number or an array of lags; zeros without components)."""
    k = np.asarray(k, dtype=np.float64)
    return sum((q * libm.exp(-k * h / t) for q, t in zip(q_sfa, tau_sfa)), np.zeros_like(k))


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
