"""distsim/kernels/rkf45.py: against closed-form solutions, and step for step against the GSL
library NEST 3.10 integrates its conductance models with (loaded from NEST's wheel)."""
import math
from collections import namedtuple

import numpy as np
import pytest
from numba import njit

from distsim.kernels import rkf45

import gsl_oracle

GSL = gsl_oracle.load()
needs_gsl = pytest.mark.skipif(GSL is None, reason="NEST 3.10 wheel (its libgsl) not installed")


Decay = namedtuple("Decay", "tau0 tau1")
Cond = namedtuple("Cond", "C_m g_L E_L E_ex E_in tau_ex tau_in I V_th")


@njit
def _decay_rhs(y, par):
    p = par[0]
    return (-y[0] / p.tau0, -y[1] / p.tau1)


@njit
def _cond_rhs(y, par):
    """iaf_cond_exp's right-hand side (NEST 3.10), without refractoriness; I = I_e + I_stim."""
    C_m, g_L, E_L, E_ex, E_in, tau_ex, tau_in, I, V_th = par[0]
    V = min(y[0], V_th)
    return ((-(g_L * (V - E_L)) + I - y[1] * (V - E_ex) - y[2] * (V - E_in)) / C_m,
            -y[1] / tau_ex, -y[2] / tau_in)


@njit
def _evolve(par, y, t, t1, h, ctl):
    """evolve_apply on an array state (in place), as the GSL oracle has it; returns (t, h)."""
    yt, t, h = rkf45.evolve_apply(par, (y[0], y[1], y[2]), t, t1, h, ctl)
    y[0], y[1], y[2] = yt
    return t, h


rkf45.register_rhs(Decay, _decay_rhs)
rkf45.register_rhs(Cond, _cond_rhs)


def _cond_rhs_py(par):
    C_m, g_L, E_L, E_ex, E_in, tau_ex, tau_in, I, V_th = par

    def rhs(y, f):
        V = min(y[0], V_th)
        f[0] = (-(g_L * (V - E_L)) + I - y[1] * (V - E_ex) - y[2] * (V - E_in)) / C_m
        f[1] = -y[1] / tau_ex
        f[2] = -y[2] / tau_in
    return rhs


def test_exponential_decay_within_tolerance():
    """y' = -y / tau: the error after 100 ms stays at the order of the tolerance, and the
    step size grows by at most 5x per accepted step."""
    ctl = rkf45.control_y(1e-6, 0.0)
    y = (1.0, -3.0)
    par = (Decay(5.0, 0.7),)
    h, t, hs = 0.1, 0.0, []
    while t < 100.0:
        h_prev = h
        y, t, h = rkf45.evolve_apply(par, y, t, 100.0, h, ctl)
        assert h <= 5.0 * h_prev * (1 + 1e-15)
        hs.append(h)
    assert t == 100.0
    exact = np.array([math.exp(-100.0 / 5.0), -3.0 * math.exp(-100.0 / 0.7)])
    assert np.max(np.abs(np.array(y) - exact)) < 1e-5
    assert max(hs) > 1.0  # the control did let the step grow


def test_tighter_tolerance_is_more_accurate():
    errs = []
    for tol in (1e-3, 1e-6, 1e-9):
        y, h = rkf45.advance((Decay(2.0, 0.3),), (1.0, 1.0), 1.0, 0.1, rkf45.control_y(tol, 0.0))
        assert h > 0
        errs.append(abs(y[1] - math.exp(-1.0 / 0.3)))
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 1e-8


@needs_gsl
@pytest.mark.parametrize("ctl", [(1e-3, 0.0, 1.0, 0.0), (1e-6, 1e-6, 0.0, 1.0), (1e-5, 1e-4, 1.0, 0.0)],
                         ids=["y(1e-3,0)", "yp(1e-6,1e-6)", "y(1e-5,1e-4)"])
def test_hadjust_equals_gsl(ctl):
    """The step adjustment rule, bit for bit, over random errors spanning all three branches."""
    rng = np.random.default_rng(3)
    ev = gsl_oracle.Evolver(GSL, 3, lambda y, f: None, ctl)
    seen = set()
    for _ in range(3000):
        y = rng.normal(size=3) * 50
        yerr = rng.normal(size=3) * 10 ** rng.uniform(-10, -1)
        yp = rng.normal(size=3) * 100
        h = 10 ** rng.uniform(-5, 0)
        st, h_gsl = ev.hadjust(y, yerr, yp, h)
        ours = rkf45.hadjust(ctl, tuple(y), tuple(yerr), tuple(yp), h)
        assert ours == (st, h_gsl)
        seen.add(st)
    assert seen == {-1, 0, 1}


def _drive(evolve, y, n_steps, dt, jumps, h=None):
    """NEST's update loop over n_steps steps of dt with conductance jumps added after the
    integration; returns every (t, h) the evolve calls returned and the trace of y."""
    h = dt if h is None else h
    calls, trace = [], []
    for s in range(n_steps):
        t = 0.0
        while t < dt:
            t, h = evolve(y, t, dt, h)
            calls.append((t, h))
        y[1] += jumps[s, 0]
        y[2] += jumps[s, 1]
        trace.append(y.copy())
    return calls, np.array(trace)


@needs_gsl
@pytest.mark.parametrize("dt,tol", [(0.1, 1e-3), (0.1, 1e-8), (1.0, 1e-3), (0.25, 1e-6)])
def test_evolve_equals_gsl_bit_for_bit(dt, tol):
    """iaf_cond_exp's equations with random excitatory and inhibitory conductance jumps:
    every internal step end, step size and state equal GSL's exactly."""
    par = Cond(250.0, 16.6667, -70.0, 0.0, -85.0, 0.2, 2.0, 380.0, 1e9)  # no threshold clamp
    ctl = rkf45.control_y(tol, 0.0)
    rng = np.random.default_rng(int(dt * 100) + int(-math.log10(tol)))
    n = int(round(30.0 / dt))
    jumps = (rng.random((n, 2)) < 0.1) * rng.uniform(0, 30, (n, 2))
    ev = gsl_oracle.Evolver(GSL, 3, _cond_rhs_py(par), ctl)
    y0 = np.array([-70.0, 0.0, 0.0])
    c_gsl, tr_gsl = _drive(lambda y, t, t1, h: ev.apply(y, t, t1, h), y0.copy(), n, dt, jumps)
    c_our, tr_our = _drive(lambda y, t, t1, h: _evolve((par,), y, t, t1, h, ctl),
                           y0.copy(), n, dt, jumps)
    assert len(c_gsl) > n  # jumps forced more than one internal step somewhere
    assert c_our == c_gsl
    assert np.array_equal(tr_our, tr_gsl)


@needs_gsl
def test_final_step_ends_exactly_at_t1_like_gsl():
    """A suggested step equal to the remaining time or one ulp above/below it: the returned
    t, h and state match GSL's (t0 + (t1 - t0) == t1 for 0 <= t0 <= t1 in binary floating
    point, so whether GSL tests h > rest or h >= rest cannot show)."""
    par = Cond(250.0, 16.6667, -70.0, 0.0, -85.0, 0.2, 2.0, 380.0, 1e9)
    ctl = rkf45.control_y(1e-3, 0.0)
    ev = gsl_oracle.Evolver(GSL, 3, _cond_rhs_py(par), ctl)
    for t0 in np.linspace(0.001, 0.099, 97):
        rest = 0.1 - t0
        for h in (rest, np.nextafter(rest, 0), np.nextafter(rest, 1)):
            y1 = np.array([-60.0, 3.0, 1.0])
            y2 = y1.copy()
            assert _evolve((par,), y1, t0, 0.1, h, ctl) == ev.apply(y2, t0, 0.1, h)
            assert np.array_equal(y1, y2)


def test_model_kernels_are_cacheable():
    """The integrator finds the right-hand side by the parameter type, so no dispatcher
    address ends up in the machine code (numba refuses to cache such kernels, and every
    process would compile them again)."""
    from distsim.kernels import cond

    @njit
    def one_step(p, pa, pe):
        a = cond.iaf_cond_exp_step((-70.0, 0.0, 0.0), 0, 0.1, 0.0, 1.0, 1.0, p, 20, 0.1, cond.CTL_IAF_COND)
        b = cond.iaf_cond_alpha_step((-70.0, 0.0, 0.0, 0.0, 0.0), 0, 0.1, 0.0, 1.0, 1.0, pa, 20, 0.1,
                                     cond.CTL_IAF_COND)
        c = cond.aeif_cond_exp_step((-70.0, 0.0, 0.0, 0.0), 0, 0.1, 0.0, 1.0, 1.0, pe, 20, 0.1,
                                    (1e-6, 1e-6, 0.0, 1.0))
        return a[0][1] + b[0][1] + c[0][1]

    p = cond.IafCondExpParams(250.0, 16.6667, -70.0, 0.0, -85.0, -55.0, -60.0, 0.2, 2.0, 0.0)
    pe = cond.aeif_params(C_m=281.0, g_L=30.0, E_L=-70.6, E_ex=0.0, E_in=-85.0, V_th=-50.4, V_reset=-60.0,
                          tau_syn_ex=0.2, tau_syn_in=2.0, I_e=0.0, a=4.0, b=80.5, Delta_T=2.0, tau_w=144.0,
                          V_peak=0.0)
    assert one_step(p, cond.IafCondAlphaParams(*p), pe) == 2.0 + 2.718281828459045 / 0.2
    for cres in one_step.overloads.values():
        assert not cres.library.has_dynamic_globals
