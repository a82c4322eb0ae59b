"""Shared neuron-kernel pieces (pure numba): the Poisson drive of one step and the
propagators of exponential currents. The per-slice loop is ``kernels.driver.run_group``;
each model's per-neuron update lives in its model file (``distsim.models``). Parameter
arrays either all hold one value per neuron or, when the whole group shares every
parameter, all have length 1: the driver then hoists them out of the loop over neurons,
which lets LLVM vectorise it (a length test per parameter inside the loop kept it scalar,
5-7 ns instead of ~1 ns/neuron).

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

from . import libm
from .poisson import BRANCHLESS
from .rng import GOLDEN, mix64

_S1 = np.uint64(1)


@njit(inline="always", cache=True)
def _poisson_step(s, a, b, pb_j0, pb_j1, pb_kptr, pb_iptr, pb_tab, pb_w, pb_start, pb_stop,
                  pb_keys, pb_idx, tables, pex, pin):
    """Poisson input of step s for the group's neurons a..b-1 into pex (w >= 0) and pin
    (w < 0) (a thread's part of the group; 0, n for all of it).

    Block b covers group neurons j0..j1-1 (or, when pb_iptr[b] >= 0, the neurons listed in
    pb_idx from there), all with one CDF table (offset pb_tab[b] in ``tables``), weight
    pb_w[b] and active arrival steps [pb_start[b], pb_stop[b]). Blocks are in device order,
    so every neuron sums its inputs in the same order on any number of ranks and threads
    (a neuron's draws and sums do not depend on which part computes them). The table's
    first BRANCHLESS thresholds are hoisted out of the loop over neurons, which then
    vectorises (about 2 ns a draw).
    """
    for j in range(a, b):
        pex[j] = 0.0
        pin[j] = 0.0
    sg = np.uint64(s) * GOLDEN
    for bl in range(pb_j0.shape[0]):
        if s < pb_start[bl] or s >= pb_stop[bl]:
            continue
        o = pb_tab[bl]
        w = pb_w[bl]
        kp = pb_kptr[bl]
        thr = tables[o:o + BRANCHLESS].copy()  # a private copy: lets LLVM keep it in registers
        dest = pex if w >= 0.0 else pin
        j0 = pb_j0[bl]
        ip = pb_iptr[bl]
        tail = False
        if ip < 0:  # contiguous neurons: this loop vectorises (zero-based views help LLVM)
            q0 = max(j0, a) - j0  # the block's neurons in [a, b)
            q1 = min(pb_j1[bl], b) - j0
            if q1 <= q0:
                continue
            kk = pb_keys[kp + q0:kp + q1]
            dd = dest[j0 + q0:j0 + q1]
            for q in range(q1 - q0):
                u = np.int64(mix64(kk[q] + sg) >> _S1)
                k = 0
                for m in range(BRANCHLESS):
                    k += u >= thr[m]
                tail |= k == BRANCHLESS
                dd[q] += w * k
        else:
            q0 = 0
            q1 = pb_j1[bl] - j0
            kk = pb_keys[kp:kp + q1]
            ii = pb_idx[ip:ip + q1]
            for q in range(q1):
                jj = ii[q]
                if jj < a or jj >= b:
                    continue
                u = np.int64(mix64(kk[q] + sg) >> _S1)
                k = 0
                for m in range(BRANCHLESS):
                    k += u >= thr[m]
                tail |= k == BRANCHLESS
                dest[jj] += w * k
        if tail:  # rare: counts of BRANCHLESS or more continue the search in the full table
            for q in range(q0, q1):
                j = j0 + q if ip < 0 else pb_idx[ip + q]
                if j < a or j >= b:
                    continue
                u = np.int64(mix64(pb_keys[kp + q] + sg) >> _S1)
                k = BRANCHLESS
                if u >= tables[o + k - 1]:
                    while u >= tables[o + k]:
                        k += 1
                    dest[j] += w * (k - BRANCHLESS)


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
    P22 = libm.exp(-h / tau_m)
    P11 = libm.exp(-h / tau_syn)
    x = h * (1.0 / tau_syn - 1.0 / tau_m)
    small = np.abs(x) < 1e-5
    xs = np.where(small, 1.0, x)
    f = np.where(small, 1.0 - x / 2.0 + x * x / 6.0, -libm.expm1(-xs) / xs)
    P21 = h / C_m * P22 * f
    return P22, P11, P21
