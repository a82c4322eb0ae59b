"""Seed 001's GIF network against NEST 3.10, and mesoscopic against microscopic: trial-
averaged population activities before and after the input step (the runs of
tests/nest_builders.py, which scripts/gif_population.py reports).

Findings these tests pin down (numbers in the GIF issue note):
- distsim's gif_pop_psc_exp and gif_psc_exp networks give NEST's mean activities (within
  about 2%, tested at 5%);
- the mesoscopic node's finite-size fluctuations are NEST's: the variance of the 1 ms-binned
  activity before the step agrees with NEST's gif_pop_psc_exp within 20%;
- the mesoscopic node reproduces the mean activity of the all-to-all network it describes
  (``micro_dense``) within 5% when adaptation is moderate (0.3 x the seed's J_sfa), and before
  the input step at the seed's strength (variance too, within 20%); after the step, with the
  seed's strong adaptation (q_sfa = 4 Delta_V), the mesoscopic activity is about 11% higher
  and its variance 50-70% higher, in NEST as in distsim: the quasi-renewal approximation, not
  the implementation (slow test below). The post-step variance itself varies 3-fold between
  trials (slow population fluctuations), so 10 trials cannot decide a 20% criterion there.

Means of independent trials are compared; the standard errors are asserted small enough
for the 5% tolerance to mean something.
"""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
nest = pytest.importorskip("nest", reason="NEST 3.10 (pip install nest-simulator) is the reference")
from analysis.measures import trial_window_stats  # noqa: E402
from nest_builders import GIF_BIN_MS, GIF_WINDOWS, run_gif_distsim, run_gif_nest  # noqa: E402

pytestmark = [pytest.mark.validation, pytest.mark.timeout(1200)]


def _stats(sim, form, trials, seed0, adaptation=1.0):
    fn = run_gif_distsim if sim == "distsim" else run_gif_nest
    return trial_window_stats([fn(form, seed0 + k, adaptation)[0] for k in range(trials)], GIF_WINDOWS, 0.0,
                              GIF_BIN_MS)


def _check(a, b, tol, windows=("pre", "post"), var_tol=None):
    for k in a:
        if k.split("/")[1] not in windows:
            continue
        rel = a[k]["mean"] / b[k]["mean"] - 1.0
        sem = np.hypot(a[k]["sem"], b[k]["sem"]) / b[k]["mean"]
        assert sem < tol / 2, f"{k}: standard error {sem:.3f} too large to test {tol:.0%}"
        assert abs(rel) <= tol, f"{k}: {a[k]['mean']:.3f} vs {b[k]['mean']:.3f} spikes/s ({rel:+.1%})"
        if var_tol is not None:
            rv = a[k]["var"] / b[k]["var"] - 1.0
            assert abs(rv) <= var_tol, f"{k}: variance {a[k]['var']:.1f} vs {b[k]['var']:.1f} ({rv:+.1%})"


@pytest.mark.parametrize("form", ["meso", "micro"])
def test_mean_activities_match_nest(form):
    ours, ref = _stats("distsim", form, 4, 100), _stats("nest", form, 4, 100)
    _check(ours, ref, 0.05)
    _check(ours, ref, 0.05, windows=("pre",), var_tol=0.20)


def test_meso_matches_dense_micro_with_moderate_adaptation():
    meso = _stats("distsim", "meso", 4, 200, adaptation=0.3)
    micro = _stats("distsim", "micro_dense", 4, 200, adaptation=0.3)
    _check(meso, micro, 0.05)


def test_meso_matches_micro_before_the_step():
    meso = _stats("distsim", "meso", 4, 300)
    _check(meso, _stats("distsim", "micro_dense", 4, 300), 0.05, windows=("pre",), var_tol=0.20)
    _check(meso, _stats("distsim", "micro", 4, 300), 0.05, windows=("pre",))


@pytest.mark.slow
def test_issue_protocol_ten_trials():
    """10 trials each: both forms vs NEST; meso vs the dense network; and the post-step gap
    at the seed's adaptation is NEST's gap too (within 3 percentage points)."""
    st = {(s, f): _stats(s, f, 10, 1) for s in ("distsim", "nest") for f in ("meso", "micro_dense", "micro")}
    for f in ("meso", "micro_dense", "micro"):
        _check(st[("distsim", f)], st[("nest", f)], 0.05)
        _check(st[("distsim", f)], st[("nest", f)], 0.05, windows=("pre",), var_tol=0.20)
    _check(st[("distsim", "meso")], st[("distsim", "micro_dense")], 0.05, windows=("pre",), var_tol=0.20)
    for k in ("E/post", "I/post"):
        ours = st[("distsim", "meso")][k]["mean"] / st[("distsim", "micro_dense")][k]["mean"] - 1
        theirs = st[("nest", "meso")][k]["mean"] / st[("nest", "micro_dense")][k]["mean"] - 1
        assert abs(ours - theirs) < 0.03, (k, ours, theirs)
    weak = {f: _stats("distsim", f, 10, 1, adaptation=0.3) for f in ("meso", "micro_dense")}
    _check(weak["meso"], weak["micro_dense"], 0.05)
