"""Self-consistent stationary rates: nu = Phi(mu(nu), sigma(nu)).

Two independent solvers:

* pseudo-time dynamics (Hahne et al. 2017, eq. 30)::

      tau d nu/dt = -nu + Phi(mu(nu), sigma(nu))

  integrated (LSODA) until ``max |Phi(nu) - nu| < tol``; converges to stable
  fixed points;
* a root finder (scipy.optimize.root, 'hybr') on ``F(nu) = Phi(nu) - nu``,
  started from several initial rate vectors; distinct solutions are
  reported with their linear stability under the pseudo-time dynamics
  (stable iff all eigenvalues of ``dPhi/dnu - 1`` have negative real part).

Rates in spikes/s, pseudo time in ms.
"""

from __future__ import annotations

import numpy as np
import scipy.integrate as sint
import scipy.optimize as sopt

from .inputs import _mean_input, _std_input, network_arrays
from .siegert import _siegert


def _rate_map(nu, arrays: dict):
    """Return Phi(nu) in spikes/s for the network ``arrays`` (see inputs.network_arrays)."""
    a = arrays
    nu = np.maximum(np.asarray(nu, float), 0.0)
    mu = _mean_input(nu, a["K"], a["J"], a["tau_m"], a["K_ext"], a["J_ext"], a["nu_ext"], a["I_e"], a["C_m"])
    sigma = _std_input(nu, a["K"], a["J"], a["tau_m"], a["K_ext"], a["J_ext"], a["nu_ext"])
    return _siegert(mu, sigma, a["V_th_rel"], a["V_reset_rel"], a["tau_m"], a["t_ref"], a["tau_s"])


def _solve_pseudo_time(phi, nu0, tau=1.0, tol=1e-10, t_chunk=100.0, max_chunks=200):
    """Return the fixed point (spikes/s) reached by ``tau dnu/dt = -nu + phi(nu)`` from nu0.

    tau and t_chunk in ms.  Integrates in chunks of ``t_chunk`` until
    ``max|phi(nu) - nu| < tol`` (spikes/s); raises RuntimeError otherwise.
    """
    nu = np.asarray(nu0, float).copy()

    def rhs(_, x):
        return (-x + phi(x)) / tau

    for _ in range(max_chunks):
        sol = sint.solve_ivp(rhs, (0.0, t_chunk), nu, method="LSODA", rtol=1e-12, atol=1e-12)
        if not sol.success:
            raise RuntimeError(f"pseudo-time integration failed: {sol.message}")
        nu = sol.y[:, -1]
        if np.max(np.abs(phi(nu) - nu)) < tol:
            return np.maximum(nu, 0.0)
    raise RuntimeError(f"pseudo-time dynamics did not converge within {max_chunks * t_chunk} ms")


def _solve_root(phi, nu0, tol=1e-10):
    """Return (rates spikes/s, converged bool) from a root finder on phi(nu) - nu started at nu0."""
    nu0 = np.asarray(nu0, float)

    def residual(x):
        # the solver may step to non-finite rates: answer with a large residual, not NaN input
        if not np.all(np.isfinite(x)):
            return np.full(x.shape, 1e300)
        return phi(x) - x

    res = sopt.root(residual, nu0, method="hybr", options={"xtol": 1e-13})
    nu = res.x
    ok = bool(np.all(np.isfinite(nu)) and np.all(nu >= -tol) and np.max(np.abs(phi(nu) - nu)) < max(tol, 1e-8))
    return np.maximum(nu, 0.0), ok


def _jacobian(phi, nu, rel_step=1e-6):
    """Return d phi / d nu (dimensionless, targets x sources) by central differences."""
    nu = np.asarray(nu, float)
    n = nu.size
    jac = np.empty((n, n))
    for j in range(n):
        h = rel_step * max(abs(nu[j]), 1e-2)
        e = np.zeros(n)
        e[j] = h
        lo = np.maximum(nu - e, 0.0)
        jac[:, j] = (phi(nu + e) - phi(lo)) / (nu[j] + h - lo[j])
    return jac


def _default_starts(n, t_ref):
    """Return a list of initial rate vectors (spikes/s) spanning silent to near-saturated."""
    nu_max = 1e3 / float(np.max(t_ref))
    levels = [0.0, 0.1, 1.0, 5.0, 10.0, 30.0, 100.0, 0.5 * nu_max, 0.9 * nu_max]
    starts = [np.full(n, v) for v in levels]
    alt = np.arange(n) % 2 == 0  # E populations high, I low and vice versa
    for hi, lo in ((30.0, 1.0), (1.0, 30.0), (0.9 * nu_max, 1.0)):
        starts.append(np.where(alt, hi, lo))
    return starts


def _fixed_points(phi, starts, tol=1e-10, dedupe_rtol=1e-6, dedupe_atol=1e-6):
    """Return the distinct fixed points found from ``starts``.

    List of dicts {rates (spikes/s), stable (bool), eigenvalues of
    dPhi/dnu - 1}, sorted by mean rate.
    """
    found = []
    for s in starts:
        nu, ok = _solve_root(phi, s, tol)
        if not ok:
            continue
        if any(np.allclose(nu, f["rates"], rtol=dedupe_rtol, atol=dedupe_atol) for f in found):
            continue
        ev = np.linalg.eigvals(_jacobian(phi, nu) - np.eye(nu.size))
        found.append({"rates": nu, "stable": bool(np.all(ev.real < 0)), "eigenvalues": ev})
    found.sort(key=lambda f: float(np.mean(f["rates"])))
    return found


def firing_rates(params: dict, method: str = "root", nu0=None, tol: float = 1e-10, tau: float = 1.0):
    """Return self-consistent stationary rates (spikes/s, one per population).

    ``params``: ``microcircuit_params.derive()`` or ``brunel_params.derive()``
    output.  method: ``"root"`` (scipy.optimize.root from ``nu0``; if that
    fails, from several starts, returning the stable solution nearest to
    nu0) or ``"ode"`` (pseudo-time
    dynamics, eq. 30 of Hahne et al. 2017, tau in ms).  nu0 defaults to 0.
    """
    arrays = network_arrays(params)
    n = len(arrays["populations"])
    nu0 = np.zeros(n) if nu0 is None else np.asarray(nu0, float)

    def phi(x):
        return _rate_map(x, arrays)

    if method == "ode":
        return _solve_pseudo_time(phi, nu0, tau=tau, tol=tol)
    if method == "root":
        nu, ok = _solve_root(phi, nu0, tol)
        if ok:
            return nu
        # hybr is not globally convergent: restart from a spread of initial
        # rates and return the stable solution nearest to nu0
        fps = _fixed_points(phi, _default_starts(n, arrays["t_ref"]), tol)
        candidates = [f for f in fps if f["stable"]] or fps
        if not candidates:
            raise RuntimeError("root finder found no self-consistent solution")
        return min(candidates, key=lambda f: float(np.linalg.norm(f["rates"] - nu0)))["rates"]
    raise ValueError("method must be 'root' or 'ode'")


def fixed_points(params: dict, starts=None, tol: float = 1e-10) -> list[dict]:
    """Return all distinct self-consistent solutions found from several starts.

    Each entry: {"rates": spikes/s array, "stable": bool, "eigenvalues":
    complex array of dPhi/dnu - 1 (pseudo-time Jacobian in units of 1/tau)}.
    ``starts``: list of initial rate vectors (spikes/s); default spans 0 to
    0.9/t_ref.
    """
    arrays = network_arrays(params)
    n = len(arrays["populations"])
    if starts is None:
        starts = _default_starts(n, arrays["t_ref"])
    return _fixed_points(lambda x: _rate_map(x, arrays), starts, tol)


def working_point(params: dict, nu=None) -> dict:
    """Return {"rates" (spikes/s), "mu" (mV rel. E_L), "sigma" (mV)} at the self-consistent rates."""
    arrays = network_arrays(params)
    if nu is None:
        nu = firing_rates(params)
    a = arrays
    mu = _mean_input(nu, a["K"], a["J"], a["tau_m"], a["K_ext"], a["J_ext"], a["nu_ext"], a["I_e"], a["C_m"])
    sigma = _std_input(nu, a["K"], a["J"], a["tau_m"], a["K_ext"], a["J_ext"], a["nu_ext"])
    return {"rates": np.asarray(nu, float), "mu": mu, "sigma": sigma}
