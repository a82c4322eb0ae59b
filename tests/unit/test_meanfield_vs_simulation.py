"""Tests of distsim.meanfield.compare and .spectra (the comparison behind
scripts/meanfield_vs_simulation.py): on small Brunel networks (real ``distsim run``
subprocesses, one rank) and the normalisation of the binned spectra."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import analysis
from distsim.meanfield import compare as mvs
from distsim.meanfield import spectra as mfs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _simulate(kwargs, path, seed, t_presim, t_sim, nperseg, spectra):
    """Build, predict, ``distsim run brunel`` (one rank), analyse and compare one network."""
    net = mvs.build("brunel", kwargs)
    pred = mvs.meanfield(net)
    cmd = [sys.executable, "-m", "distsim", "run", "brunel"]
    for k, v in kwargs.items():
        cmd += ["--set", f"{k}={v}"]
    cmd += ["--seed", str(seed), "--t-presim", str(t_presim), "--t-sim", str(t_sim), "-o", path, "-q"]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    res = analysis.analyze_file(path, t_start=t_presim, nperseg=nperseg)
    out = mvs.compare(net, pred, res, spectra)
    out.update({"file": path, "same_spec": mvs.same_spec(net, path), "kwargs": dict(kwargs)})
    return out


def _finite(x):
    return x is not None and math.isfinite(x)


@pytest.fixture(scope="module")
def brunel_runs(tmp_path_factory):
    """Brunel (AI point g=5, eta=2) at order 250 and 1000, simulated once for the module."""
    d = tmp_path_factory.mktemp("mvs")
    out = {}
    for order in (250, 1000):
        out[order] = _simulate({"order": order, "g": 5.0, "eta": 2.0}, str(d / f"brunel_{order}.h5"),
                               seed=3, t_presim=100.0, t_sim=500.0, nperseg=64, spectra=order == 1000)
    return out


@pytest.mark.timeout(120)
@pytest.mark.parametrize("order", [250, 1000])
def test_rate_table_finite(brunel_runs, order):
    """Every population has a finite mean-field rate, simulated rate and relative difference,
    and the output file holds exactly the network the mean-field used."""
    r = brunel_runs[order]
    assert r["same_spec"]
    assert mvs.same_spec(mvs.build("brunel", r["kwargs"]), r["file"])
    assert [row["population"] for row in r["table"]] == ["E", "I"]
    for row in r["table"]:
        assert _finite(row["meanfield"]) and row["meanfield"] > 0
        assert _finite(row["simulated"]) and row["simulated"] > 0
        assert _finite(row["rel_diff"])
        assert row["rel_diff"] == pytest.approx((row["simulated"] - row["meanfield"]) / row["meanfield"])


@pytest.mark.timeout(120)
def test_brunel_rates_close_to_meanfield(brunel_runs):
    """At order 1000 (CE = 400) the AI state is well described by the Siegert rates."""
    for row in brunel_runs[1000]["table"]:
        assert abs(row["rel_diff"]) < 0.05, row


@pytest.mark.timeout(120)
def test_brunel_spectra_finite(brunel_runs):
    """compare() gives finite, positive spectra of both kinds on the analysis frequencies."""
    r = brunel_runs[1000]
    f = r["freqs"]
    assert f.size and f.min() >= mvs.F_MIN and f.max() <= mvs.F_MAX
    for pop in ("E", "I"):
        s = r["spectra"][pop]
        assert s["sim"].shape == s["mf"].shape == f.shape
        assert np.all(np.isfinite(s["mf"])) and np.all(s["mf"] > 0)
        assert np.all(np.isfinite(s["sim"]))
    summ = mvs.spectra_summary(r)
    assert set(summ) == {"E", "I"}


def test_rate_table_zero_meanfield():
    """A silent mean-field population gives no relative difference instead of a division by 0."""
    rows = mvs.rate_table({"A": 0.0, "B": 2.0}, {"A": 0.1, "B": 3.0}, {"A": 1.0, "B": 2.5})
    assert rows[0]["rel_diff"] is None
    assert rows[1]["rel_diff"] == pytest.approx(0.5)
    assert rows[1]["reference"] == 2.5


def test_binned_flat_spectrum_is_twice_nu_over_N(monkeypatch):
    """A flat two-sided spectrum nu/N (Poisson) stays flat through binning + aliasing and
    becomes the one-sided 2 nu/N (sum_k sinc^2(x + k) = 1)."""
    params = {"num_neurons": np.array([100.0, 40.0])}
    nu = np.array([3.0, 12.0])
    monkeypatch.setattr(mfs, "power_spectra",
                        lambda p, f, nu=None, delay_min=0.0: np.tile(nu / p["num_neurons"], (np.size(f), 1)))
    f = np.linspace(1.0, 499.0, 97)
    P = mfs.binned_power_spectra(params, f, nu, bin_ms=1.0)
    np.testing.assert_allclose(P, np.tile(2 * nu / params["num_neurons"], (f.size, 1)), rtol=1e-12)
    with pytest.raises(ValueError):
        mfs.binned_power_spectra(params, [600.0], nu)


def test_binned_lorentzian_matches_direct_sampling(monkeypatch):
    """Binning + aliasing of a non-flat spectrum: compare with the spectrum of a finely sampled
    process with that spectrum, box-car averaged into 1 ms bins (done in the frequency domain on
    a 0.01 ms grid, i.e. with 100 alias terms instead of 3 + the flat tail)."""
    params = {"num_neurons": np.array([1.0])}
    nu = np.array([1.0])
    tau = 0.4e-3  # s: corner at ~400 Hz, so the aliases matter

    def P_true(f):
        return 1.0 + 50.0 / (1.0 + (2 * np.pi * np.asarray(f) * tau) ** 2)

    def fake(p, f, nu=None, delay_min=0.0):
        f = np.asarray(f, float)
        return (1.0 + 50.0 / (1.0 + (2 * np.pi * f * tau) ** 2))[:, None]

    monkeypatch.setattr(mfs, "power_spectra", fake)
    f = np.array([5.0, 100.0, 250.0, 400.0])
    got = mfs.binned_power_spectra(params, f, nu, bin_ms=1.0, n_alias=1)[:, 0]
    k = np.arange(-20000, 20001)
    fk = f[:, None] + 1000.0 * k[None]
    ref = 2 * np.sum(np.sinc(fk * 1e-3) ** 2 * P_true(fk), axis=1)
    # the flat tail replaces P - 1 ~ 50/(1 + (2 pi 1.6 kHz tau)^2) ~ 2 beyond |k| = 1 weighted by
    # sinc^2 <= 0.03: a few per cent at most
    np.testing.assert_allclose(got, ref, rtol=0.03)
    got3 = mfs.binned_power_spectra(params, f, nu, bin_ms=1.0, n_alias=40)[:, 0]
    np.testing.assert_allclose(got3, ref, rtol=1e-3)


def test_poisson_population_psd_matches_convention(tmp_path):
    """analysis.analyze_file on Poisson trains gives 2 nu/N, the level the mean-field spectra
    are converted to (one-sided, population-averaged rate)."""
    from analysis import analyze_file
    from analysis.synthetic import write_synthetic

    sizes, rates = (400, 100), (5.0, 20.0)
    path = str(tmp_path / "poisson.h5")
    write_synthetic(path, names=("A", "B"), sizes=sizes, rates=rates, t_sim_ms=20000.0,
                    t_presim_ms=0.0, n_ranks=1, n_report=0, seed=5)
    res = analyze_file(path, nperseg=256)
    for name, n, nu in zip(("A", "B"), sizes, rates):
        p = res[name]
        sel = (p.freqs >= 5) & (p.freqs <= 400)
        assert np.mean(p.psd[sel]) == pytest.approx(2 * nu / n, rel=0.05)
