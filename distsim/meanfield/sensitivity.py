r"""Eigenmodes of the effective connectivity and their sensitivity measure (Bos et al. 2016).

The rate spectra ``P(w) = diag[(1 - W)^-1 ... (1 - W)^-H]`` have a peak where an eigenvalue
``lambda_b(w)`` of the effective connectivity W(w) passes close to 1. The eigenvalues are
computed per frequency and joined into trajectories ``lambda_b(f)`` across frequencies
(:func:`_eigenvalue_trajectories`: at each step the assignment of the new eigenvalues to
the previous ones that minimises the summed distance).

Sensitivity measure of mode b at frequency w (Bos et al. 2016, eq. 7; NNMT
``lif.exp._sensitivity_measure``), with left/right eigenvectors u_b, v_b of W(w)::

    Z_b,ij = conj(u_b,i) v_b,j / (u_b^H v_b) * W_ij(w)          (complex, dimensionless)

``sum_ij Z_b,ij = lambda_b``: Z_ij is the part of the eigenvalue that connection j -> i
contributes, i.e. ``d lambda_b = sum Z_ij dW_ij / W_ij``. Projected on the unit vector k
from lambda_b to 1 (in the complex plane) it says how a relative change of W_ij moves the
eigenvalue towards 1 (``Z_amp``: the spectral peak grows), on the perpendicular k_per
(``Z_freq``: the peak moves in frequency)::

    Z_amp  = Re Z k_x + Im Z k_y,      Z_freq = Re Z k_per,x + Im Z k_per,y,   k_per = (-k_y, k_x)
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as slinalg
from scipy.optimize import linear_sum_assignment


def _eigenvalue_trajectories(W):
    """Return (eigenvalues (n_freqs, n), order (n_freqs, n) int) joined across frequencies.

    W: (n_freqs, n, n). ``order[f, b]`` is the index (in ``np.linalg.eig`` order at
    frequency f) of the eigenvalue that continues trajectory b; trajectory b starts with
    eigenvalue b of the first frequency.
    """
    ev = np.linalg.eigvals(np.asarray(W))
    n_f, n = ev.shape
    order = np.empty((n_f, n), int)
    order[0] = np.arange(n)
    for k in range(1, n_f):
        prev = ev[k - 1, order[k - 1]]
        cost = np.abs(prev[:, None] - ev[k][None, :])
        rows, cols = linear_sum_assignment(cost)
        order[k, rows] = cols
    return np.take_along_axis(ev, order, axis=1), order


def _sensitivity_measure(W_f, eigenvalue_index=None, order=None):
    """Return the sensitivity measure of one eigenmode of W_f (n x n) as a dict.

    ``eigenvalue_index`` picks the mode (in the order given by ``order``, a permutation of
    the eigenvalues of W_f as returned by ``scipy.linalg.eig``; identity if None); default:
    the eigenvalue closest to 1. Keys: eigenvalue_index, critical_eigenvalue,
    left_eigenvector, right_eigenvector, k, k_per (2-vectors), sensitivity (complex n x n),
    sensitivity_amp, sensitivity_freq (real n x n), all dimensionless.
    """
    e, U_l, U_r = slinalg.eig(np.asarray(W_f), left=True, right=True)
    if order is not None:
        e, U_l, U_r = e[order], U_l[:, order], U_r[:, order]
    b = int(np.argmin(np.abs(e - 1.0))) if eigenvalue_index is None else int(eigenvalue_index)
    ul, ur = U_l[:, b], U_r[:, b]
    Z = np.outer(ul.conj(), ur) / np.dot(ul.conj(), ur) * W_f
    lam = e[b]
    k = np.array([1.0 - lam.real, -lam.imag])
    k /= np.hypot(*k)
    k_per = np.array([-k[1], k[0]])
    return {"eigenvalue_index": b, "critical_eigenvalue": lam, "left_eigenvector": ul,
            "right_eigenvector": ur, "k": k, "k_per": k_per, "sensitivity": Z,
            "sensitivity_amp": Z.real * k[0] + Z.imag * k[1],
            "sensitivity_freq": Z.real * k_per[0] + Z.imag * k_per[1]}


def _sensitivity_measure_all_eigenmodes(W, freqs):
    """Return {mode b: sensitivity dict} for every eigenvalue trajectory of W (n_freqs, n, n).

    Each mode is evaluated at the frequency (Hz, from ``freqs``) where its trajectory comes
    closest to 1; the dicts of :func:`_sensitivity_measure` gain ``critical_frequency``
    (Hz) and ``critical_frequency_index``.
    """
    freqs = np.asarray(freqs, float)
    traj, order = _eigenvalue_trajectories(W)
    out = {}
    for b in range(traj.shape[1]):
        k = int(np.argmin(np.abs(traj[:, b] - 1.0)))
        d = _sensitivity_measure(W[k], b, order[k])
        d.update({"critical_frequency": float(freqs[k]), "critical_frequency_index": k})
        out[b] = d
    return out


def eigenvalue_trajectories(params: dict, freqs, nu=None, delay_min: float = 0.0):
    """Return the eigenvalues of the effective connectivity W(f), (n_freqs, n) complex.

    Column b follows one eigenvalue across ``freqs`` (Hz, ascending, finely spaced);
    params: a ``derive()`` / ``params_from_network`` dict; nu the working point (solved if None).
    """
    from .linear import effective_connectivity

    return _eigenvalue_trajectories(effective_connectivity(params, freqs, nu=nu, delay_min=delay_min))[0]


def sensitivity_measure(params: dict, freqs, nu=None, delay_min: float = 0.0, frequency=None,
                        eigenvalue_index=None):
    """Sensitivity measure of the effective connectivity's eigenmodes (dimensionless).

    ``frequency`` None: every eigenmode at its own critical frequency (the one of ``freqs``,
    Hz, where its trajectory comes closest to 1); returns {mode: dict}. With ``frequency``
    (Hz): the single mode ``eigenvalue_index`` (default: the eigenvalue closest to 1) at
    the grid frequency nearest to it; returns one dict. Dict keys as
    :func:`_sensitivity_measure` plus ``critical_frequency`` (Hz).
    """
    from .linear import effective_connectivity

    freqs = np.asarray(freqs, float)
    W = effective_connectivity(params, freqs, nu=nu, delay_min=delay_min)
    if frequency is None:
        return _sensitivity_measure_all_eigenmodes(W, freqs)
    k = int(np.argmin(np.abs(freqs - frequency)))
    d = _sensitivity_measure(W[k], eigenvalue_index)
    d.update({"critical_frequency": float(freqs[k]), "critical_frequency_index": k})
    return d
