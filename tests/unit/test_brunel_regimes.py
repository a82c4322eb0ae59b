"""The regime measures of analysis.measures (population activity, Golomb chi, dominant
frequency) on synthetic data, and the four Brunel regimes told apart at small size with them
(the measures scripts/brunel_regimes.py reports).

The small network keeps Brunel's in-degrees (order 1000, epsilon 0.25: NE = 4000, NI = 1000,
CE = 1000, CI = 250), so the mean-field working points (rates) are those of the full network;
with epsilon = 0.1 at that order (CE = 400) the regimes blur (SR is not regular). Only
properties with wide margins are asserted (measured margins in the comments). About 15 s.
"""
import numpy as np
import pytest

from analysis import measures as br
from distsim.networks.brunel_params import REGIMES

#: the script's settings (scripts/brunel_regimes.py): Brunel's Fig. 8 order, V_reset, bins
REGIME_ORDER = ("SR", "SI-fast", "AI", "SI-slow")
V_RESET_MV = 10.0
SPECTRUM_BIN_MS = 0.1


# ------------------------------------------------------------------ measures, synthetic data
def _poisson_trains(rng, n, rate_hz, t_ms, modulation=None):
    """ids, times (ms) of n Poisson trains in (0, t_ms]; rate optionally modulated by a
    function of time (ms) with mean 1, thinned from 2*rate."""
    lam = 2.0 * rate_hz * t_ms * 1e-3
    ids, times = [], []
    for i in range(n):
        t = np.sort(rng.uniform(0.0, t_ms, rng.poisson(lam)))
        p = 0.5 * (modulation(t) if modulation is not None else np.ones_like(t))
        t = t[rng.uniform(size=t.size) < p]
        ids.append(np.full(t.size, i))
        times.append(t)
    return np.concatenate(ids), np.concatenate(times)


def test_population_activity_units_and_bins():
    # 3 neurons, spikes at step ends: 1.0 ms belongs to bin (0, 1], 0.0 to none (outside)
    times = np.array([0.0, 0.5, 1.0, 1.0, 1.05, 2.0])
    act = br.population_activity(times, n_neurons=3, t_start=0.0, t_stop=2.0, bin_ms=1.0)
    assert act.shape == (2,)
    # bin 0: 0.5, 1.0, 1.0 -> 3 spikes / (3 neurons * 1 ms) = 1000 spikes/s per neuron
    np.testing.assert_allclose(act, [1000.0, 2 * 1000.0 / 3])
    assert br.mean_rate(np.zeros(6, int), times, 3, 0.0, 2.0) == pytest.approx(5 / 3 / 2e-3)


def test_trial_window_stats():
    """Window means/variances of binned activities over trials (the GIF comparison's measure):
    bins whose start lies in [a, b) belong to the window."""
    t = np.arange(0.0, 10.0, 1.0)  # bin starts (ms), 1 ms bins from 0
    trials = [{"A": np.where(t < 5, 1.0, 3.0) + k} for k in (0.0, 2.0)]
    st = br.trial_window_stats(trials, {"pre": (0.0, 5.0), "post": (5.0, 10.0), "mix": (4.0, 6.0)}, 0.0, 1.0)
    assert st["A/pre"] == {"mean": 2.0, "sem": 1.0, "var": 0.0}
    assert st["A/post"]["mean"] == 4.0
    assert st["A/mix"]["var"] == pytest.approx(1.0)  # values 1 and 3 (+k): variance 1
    one = br.trial_window_stats(trials[:1], {"pre": (0.0, 5.0)}, 0.0, 1.0)
    assert np.isnan(one["A/pre"]["sem"])


def test_golomb_chi_limits():
    rng = np.random.default_rng(1)
    common = rng.normal(size=(5000, 1))
    assert br.golomb_chi(np.repeat(common, 20, axis=1)) == pytest.approx(1.0)
    n = 400
    chi = br.golomb_chi(rng.normal(size=(5000, n)))
    assert 0.5 / np.sqrt(n) < chi < 2.0 / np.sqrt(n)       # independent: ~1/sqrt(n)
    half = br.golomb_chi(common + rng.normal(size=(5000, n)))  # half shared variance
    assert half == pytest.approx(np.sqrt(0.5), abs=0.05)


def test_spike_count_chi_independent_versus_identical():
    rng = np.random.default_rng(2)
    n, t_ms = 200, 2000.0
    ids, times = _poisson_trains(rng, n, 20.0, t_ms)
    chi = br.spike_count_chi(ids, times, n, 0.0, t_ms, bin_ms=1.0)
    assert 0.5 / np.sqrt(n) < chi < 2.0 / np.sqrt(n)
    one = times[ids == 0]
    same = br.spike_count_chi(np.repeat(np.arange(n), one.size), np.tile(one, n), n, 0.0, t_ms)
    assert same == pytest.approx(1.0)


def test_dominant_frequency_of_modulated_and_flat_activity():
    rng = np.random.default_rng(3)
    n, t_ms, f0 = 300, 2000.0, 40.0
    ids, times = _poisson_trains(rng, n, 20.0, t_ms,
                                 lambda t: 1.0 + 0.8 * np.sin(2 * np.pi * f0 * t * 1e-3))
    f, p = br.activity_spectrum(br.population_activity(times, n, 0.0, t_ms, SPECTRUM_BIN_MS), SPECTRUM_BIN_MS)
    f_peak, frac = br.dominant_frequency(f, p)
    assert abs(f_peak - f0) <= f[1] - f[0]
    ids, times = _poisson_trains(rng, n, 20.0, t_ms)
    f, p = br.activity_spectrum(br.population_activity(times, n, 0.0, t_ms, SPECTRUM_BIN_MS), SPECTRUM_BIN_MS)
    _, frac_flat = br.dominant_frequency(f, p)
    assert frac > 0.5 and frac_flat < 0.1


# ------------------------------------------------------------------ the four regimes
def _simulate(name, order=1000, t_sim_ms=400.0, warmup_ms=100.0, seed=1, n_vm=100, epsilon=0.25):
    """Spikes (global index, stamps ms) and V_m of the first n_vm E and I neurons (every dt)
    in the window (warmup_ms, warmup_ms + t_sim_ms] of one regime, simulated serially."""
    from conftest import run_network
    from distsim.networks.brunel import brunel

    g, eta = REGIMES[name]
    net = brunel(order=order, g=g, eta=eta, V_reset=V_RESET_MV, dt=0.1, epsilon=epsilon,
                 record_spikes=True, n_record=0, voltmeter=n_vm)
    _, (gids, stamps), samples = run_network(net, warmup_ms + t_sim_ms, seed=seed)
    times = stamps * net.dt_ms
    keep = times > warmup_ms
    vm_stamps = samples["E"][1]
    rows = vm_stamps * net.dt_ms > warmup_ms
    v_m = np.concatenate([samples[p][2][rows] for p in ("E", "I")], axis=1)
    return {"ids": gids[keep].astype(np.int64), "times": times[keep], "v_m": v_m,
            "n_E": net.populations[0].n, "n_I": net.populations[1].n, "dt_ms": net.dt_ms,
            "t_start": warmup_ms, "t_stop": warmup_ms + t_sim_ms}


@pytest.fixture(scope="module")
def regimes():
    """Measures of the four regimes, order 1000 with Brunel's in-degrees, 400 ms after 100 ms."""
    out = {}
    for name in REGIME_ORDER:
        run = _simulate(name)
        assert run["n_E"] == 4000 and run["n_I"] == 1000
        assert run["times"].min() > 100.0 and run["times"].max() <= 500.0
        assert run["v_m"].shape == (4000, 200)
        out[name] = br.regime_measures(run["ids"], run["times"], run["n_E"], run["n_I"], run["t_start"],
                                       run["t_stop"], run["dt_ms"], run["v_m"], spectrum_bin_ms=SPECTRUM_BIN_MS)
    return out


def test_regime_rates_follow_drive_and_inhibition(regimes):
    r = {k: v["rate_hz"] for k, v in regimes.items()}
    # measured: SR ~333 (one spike per t_ref + 1 ms), SI-fast ~60, AI ~38, SI-slow ~6-8 spikes/s
    assert r["SR"] > 3 * r["SI-fast"] and r["SI-fast"] > r["AI"] > 2 * r["SI-slow"] > 0


def test_sr_is_regular_and_the_others_irregular(regimes):
    cv = {k: v["cv_isi"] for k, v in regimes.items()}
    # measured: SR 0.002, SI-fast ~1.0, AI ~0.44, SI-slow ~0.36-0.44
    assert cv["SR"] < 0.1
    for name in ("SI-fast", "AI", "SI-slow"):
        assert cv[name] > 0.25 > 5 * cv["SR"]
    assert cv["SI-fast"] > cv["AI"]


def test_ai_is_the_least_synchronous(regimes):
    chi = {k: v["chi"] for k, v in regimes.items()}
    osc = {k: v["osc_power_frac"] for k, v in regimes.items()}
    # measured chi: AI ~0.33, SR ~0.5, SI-fast ~0.52, SI-slow ~0.6; osc: AI 0.1-0.2, SI-fast 0.4-0.5
    for name in ("SR", "SI-fast", "SI-slow"):
        assert chi[name] > 1.2 * chi["AI"]
    assert osc["SI-fast"] > 1.5 * osc["AI"]
    assert osc["SR"] > 0.8                                   # a clean oscillation


def test_oscillation_frequencies(regimes):
    f = {k: v["f_peak_hz"] for k, v in regimes.items()}
    # measured: SR 668 Hz (two clusters alternating every D = 1.5 ms), SI-fast ~175-180 Hz,
    # SI-slow ~20-23 Hz
    assert f["SR"] == pytest.approx(1000.0 / 1.5, abs=8.0)
    assert 120.0 < f["SI-fast"] < 260.0
    assert f["SI-slow"] < 50.0


def test_tests_do_not_import_library_code_from_scripts():
    """Measures, theory and runners live in analysis/, distsim/ and tests/nest_builders.py; a
    test that imports a script (exec_module of scripts/*.py or scripts/ on sys.path) would let
    library code drift back into scripts. Running a script as a subprocess is fine."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[1]
    bad = []
    for path in root.rglob("*.py"):
        text = path.read_text()
        if path.name == pathlib.Path(__file__).name:
            continue
        lines = text.splitlines()
        if any(("spec_from_file_location" in ln or "sys.path.insert" in ln) and "scripts" in ln
               for ln in lines) or re.search(r"spec_from_file_location\([^)]*scripts", text, re.S):
            bad.append(str(path.relative_to(root)))
    assert not bad, f"tests importing code from scripts/: {bad}"
