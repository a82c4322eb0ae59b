"""Tests of the memory-bounded spike analysis (analysis/) against the plain-numpy reference."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from analysis import analyze_file, reference as R, stats
from analysis.cli import main as cli_main
from analysis.spikes import SpikeFile
from analysis.synthetic import (MICROCIRCUIT_NAMES, MICROCIRCUIT_RATES, MICROCIRCUIT_SIZES,
                                write_synthetic)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCALE = 0.02
SIZES = [max(1, round(n * SCALE)) for n in MICROCIRCUIT_SIZES]  # 1,543 neurons
T_SIM, T_PRESIM = 4000.0, 300.0
N_SAMPLE = 40
BLOCK = 700  # spikes per dask block (rounded up to the 256-spike HDF5 chunk): many blocks


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A small synthetic file: 1.5k neurons, 4 s, 3 ranks, 256-spike HDF5 chunks."""
    path = str(tmp_path_factory.mktemp("ana") / "small.h5")
    info = write_synthetic(path, sizes=SIZES, t_sim_ms=T_SIM, t_presim_ms=T_PRESIM,
                           n_ranks=3, flush_ms=50.0, seed=7, h5_chunk=256, write_buffer=1000)
    return path, info


@pytest.fixture(scope="module")
def result(small):
    return analyze_file(small[0], n_sample=N_SAMPLE, block_spikes=BLOCK)


# --- file layout ------------------------------------------------------------------------------
def test_file_layout_reads_with_plain_h5py(small):
    path, info = small
    with h5py.File(path, "r") as f:
        assert list(f["spikes"]) == sorted(MICROCIRCUIT_NAMES)
        gid = 0
        for name, n in zip(MICROCIRCUIT_NAMES, SIZES):
            g = f["spikes"][name]
            assert g.attrs["sorting"] == 0       # SONATA enum: none
            assert h5py.check_enum_dtype(g.attrs.get_id("sorting").dtype) == {
                "none": 0, "by_id": 1, "by_time": 2}
            assert (g.attrs["size"], g.attrs["gid_start"], g.attrs["gid_stop"]) == (n, gid, gid + n)
            ids, ts = g["node_ids"], g["timestamps"]
            assert ids.dtype == np.uint64 and ts.dtype == np.float64
            assert ids.ndim == ts.ndim == 1 and ids.chunks == (256,) and ids.maxshape == (None,)
            assert ts.attrs["units"] == "ms"
            assert ids.shape == ts.shape == (info["n_spikes"][name],)
            a, t = ids[()], ts[()]
            assert a.min() >= 0 and a.max() < n                      # population-local ids
            assert t.min() > 0 and t.max() <= T_SIM                  # stamped at step ends
            assert np.allclose(t / 0.1, np.round(t / 0.1))          # on the dt grid
            assert np.any(np.diff(t) < 0)                             # not globally sorted
            gid += n
        m = f["meta"].attrs
        assert m["t_sim_ms"] == T_SIM and m["t_presim_ms"] == T_PRESIM and m["dt_ms"] == 0.1
        assert m["n_ranks"] == 3 and isinstance(m["model"], str)
        ref = json.loads(m["reference_rates_json"])
        assert ref == dict(zip(MICROCIRCUIT_NAMES, MICROCIRCUIT_RATES))
        for k in ("seed", "spec_json", "build_time_s", "sim_time_s", "rtf", "n_synapses",
                  "peak_rss_bytes", "versions_json"):
            assert k in m
        r = f["report"]["L4E"]
        assert r.attrs["variable"] == "V_m" and r.attrs["units"] == "mV"
        assert r["data"].shape == (r["times"].shape[0], r["mapping/node_ids"].shape[0])


def test_spikefile_is_lazy_dask(small):
    import dask.array as da

    with SpikeFile(small[0], block_spikes=BLOCK) as sf:
        assert [p.name for p in sf.populations] == list(MICROCIRCUIT_NAMES)  # gid order
        x = sf.timestamps("L4E")
        assert isinstance(x, da.Array) and x.numblocks[0] > 3
        assert x.chunks[0][0] % 256 == 0
        assert sf.default_window() == (T_PRESIM, T_SIM)
        assert sf.reference_rates["L5I"] == pytest.approx(8.633)


# --- streaming reductions == plain numpy reference ---------------------------------------------
def test_counts_rates_activity_exact(small, result):
    path = small[0]
    t0, t1 = result.t_start, result.t_stop
    assert (t0, t1) == (T_PRESIM, T_SIM)
    for p in result.populations:
        mean, rates = R.ref_rates(path, p.name, t0, t1)
        assert np.array_equal(p.rates, rates)
        assert p.rate == mean
        assert p.n_spikes == R.ref_counts(path, p.name, t0, t1).sum()
        assert np.array_equal(p.activity, R.ref_activity(path, p.name, t0, t1, 1.0))


def test_cv_cc_spectrum_match_reference(small, result):
    path = small[0]
    t0, t1 = result.t_start, result.t_stop
    for p in result.populations:
        # the CV covers every neuron (not the N_SAMPLE correlation sample): numpy reference
        # over all neurons, one streaming pass (the file's per-neuron spike order is kept)
        cv = R.ref_cv(path, p.name, t0, t1, n_sample=None)
        assert not p.cv_exact_fallback
        counts = R.ref_counts(path, p.name, t0, t1)
        assert p.cv.size == cv.size == np.count_nonzero(counts >= 4) > 0
        np.testing.assert_allclose(p.cv, cv, rtol=1e-10)
        cc = R.ref_cc(path, p.name, t0, t1, n_sample=N_SAMPLE)
        assert p.cc.size == cc.size > 0
        np.testing.assert_allclose(p.cc, cc, rtol=1e-8, atol=1e-12)
        f, psd = R.ref_spectrum(path, p.name, t0, t1)
        np.testing.assert_allclose(p.freqs, f)
        np.testing.assert_allclose(p.psd, psd, rtol=1e-10, atol=1e-14)


def test_custom_window_bins_and_full_sample(small):
    """Odd window edges, 2 ms CC bins, every neuron sampled, one huge block."""
    path = small[0]
    t0, t1 = 512.3, 3211.7
    res = analyze_file(path, t0, t1, n_sample=None, cc_bin_ms=2.0, activity_bin_ms=2.5,
                       block_spikes=1 << 20, populations=["L5I", "L23I"])
    assert [p.name for p in res.populations] == ["L5I", "L23I"]
    for p in res.populations:
        assert p.n_sampled == p.size
        assert np.array_equal(p.rates, R.ref_rates(path, p.name, t0, t1)[1])
        assert np.array_equal(p.activity, R.ref_activity(path, p.name, t0, t1, 2.5))
        assert p.activity.size == stats.n_full_bins(t0, t1, 2.5) == 1079
        np.testing.assert_allclose(p.cv, R.ref_cv(path, p.name, t0, t1, n_sample=None))
        np.testing.assert_allclose(p.cc, R.ref_cc(path, p.name, t0, t1, n_sample=None,
                                                  bin_ms=2.0), atol=1e-12)


def test_independent_of_block_size_and_spike_order(small, result, tmp_path):
    """Shuffling all spikes of a population or changing the block size changes nothing."""
    path = small[0]
    shuffled = str(tmp_path / "shuffled.h5")
    rng = np.random.default_rng(3)
    with h5py.File(path, "r") as src, h5py.File(shuffled, "w") as dst:
        src.copy("meta", dst)
        for name, g in src["spikes"].items():
            order = rng.permutation(g["node_ids"].shape[0])
            d = dst.create_group(f"spikes/{name}")
            for k in g.attrs:
                d.attrs.create(k, g.attrs[k], dtype=g.attrs.get_id(k).dtype)
            d.create_dataset("node_ids", data=g["node_ids"][()][order], chunks=(300,))
            ts = d.create_dataset("timestamps", data=g["timestamps"][()][order], chunks=(300,))
            ts.attrs["units"] = "ms"
    res2 = analyze_file(shuffled, n_sample=N_SAMPLE, block_spikes=300)
    # out of time order: the CV comes from the exact fallback, in one group or in many
    res3 = analyze_file(shuffled, n_sample=N_SAMPLE, block_spikes=300, cv_group_spikes=500,
                        populations=["L4E", "L5I"])
    for p in res3.populations:
        assert p.cv_exact_fallback
        np.testing.assert_allclose(p.cv, res2[p.name].cv, rtol=1e-12)
    for a, b in zip(result.populations, res2.populations):
        assert a.name == b.name and b.cv_exact_fallback and not a.cv_exact_fallback
        assert np.array_equal(a.rates, b.rates) and np.array_equal(a.activity, b.activity)
        np.testing.assert_allclose(a.cv, b.cv, rtol=1e-10)
        np.testing.assert_array_equal(a.cc, b.cc)
        np.testing.assert_array_equal(np.sort(a.raster_times), np.sort(b.raster_times))


def test_window_defaults_without_meta(small, tmp_path):
    path = str(tmp_path / "nometa.h5")
    write_synthetic(path, names=["A", "B"], sizes=[30, 20], rates=[20.0, 0.0], t_sim_ms=700.0,
                    n_report=0, h5_chunk=64)
    with h5py.File(path, "a") as f:
        del f["meta"]
    res = analyze_file(path, n_sample=None)
    ids, ts, *_ = R.load_population(path, "A")
    assert res.t_start == 0.0 and res.t_stop == ts.max()      # the last spike is included
    assert res.reference_rates is None
    assert res["A"].n_spikes == ts.size
    b = res["B"]                                     # a silent population
    assert b.rate == 0 and b.cv.size == 0 and b.cc.size == 0 and b.n_spikes_total == 0
    json.dumps(res.to_dict(), allow_nan=False)


def test_node_id_outside_population_is_an_error(tmp_path):
    path = str(tmp_path / "bad.h5")
    write_synthetic(path, names=["A", "B"], sizes=[10, 10], rates=[50.0, 50.0],
                    t_sim_ms=200.0, n_report=0, h5_chunk=64)
    with h5py.File(path, "a") as f:
        f["spikes/A/node_ids"][0] = 15        # belongs to B
    with pytest.raises(ValueError, match="outside"):
        analyze_file(path)


def test_file_of_an_older_layout_is_refused(tmp_path):
    """A distsim file without /meta layout_version >= 2 stores global gids in node_ids:
    reading it as population-local ids would shift every neuron, so it is refused."""
    from distsim.recording.hdf5 import LAYOUT_VERSION as written, read_spikes
    from analysis.spikes import LAYOUT_VERSION as understood

    assert written == understood
    path = str(tmp_path / "old.h5")
    write_synthetic(path, names=["A", "B"], sizes=[10, 10], rates=[50.0, 50.0],
                    t_sim_ms=200.0, n_report=0, h5_chunk=64)
    assert analyze_file(path).populations[0].n_spikes > 0
    with h5py.File(path, "a") as f:
        del f["meta"].attrs["layout_version"]
    with pytest.raises(ValueError, match="layout_version"):
        analyze_file(path)
    with pytest.raises(ValueError, match="layout_version"):
        read_spikes(path)


# --- statistics recover known properties ------------------------------------------------------
def test_rates_recover_poisson_rates(small, result):
    dur_s = (result.t_stop - result.t_start) / 1000.0
    for p, r, n in zip(result.populations, MICROCIRCUIT_RATES, SIZES):
        sigma = np.sqrt(r * n * dur_s) / (n * dur_s)       # Poisson count s.d. -> spikes/s
        assert abs(p.rate - r) < 4.5 * sigma, (p.name, p.rate, r, sigma)
        assert p.reference_rate == pytest.approx(r)
    # independent Poisson trains: CV ~ 1 (slightly below for short trains), CC ~ 0
    for p in result.populations:
        if p.rate > 5:
            assert 0.85 < np.mean(p.cv) < 1.08, (p.name, np.mean(p.cv))
        assert abs(np.mean(p.cc)) < 0.01
        assert p.psd.size and np.all(p.psd >= 0)


def test_stats_on_known_trains():
    # regular train: CV 0; alternating ISIs 1, 3 -> CV 0.5
    ids = np.r_[np.zeros(11), np.ones(9)].astype(int)
    ts = np.r_[np.arange(11) * 10.0, np.cumsum([0, 1, 3, 1, 3, 1, 3, 1, 3])]
    cv = stats.isi_cv(ids[::-1], ts[::-1], 3, min_spikes=4)
    assert cv[0] == 0 and cv[1] == pytest.approx(0.5) and np.isnan(cv[2])
    # identical trains correlate with 1, a silent neuron is left out
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 1000, 300))
    cc = stats.count_correlations(np.r_[np.zeros(300), np.ones(300)].astype(int),
                                  np.r_[t, t], 3, 0.0, 1000.0, 5.0, segment_bins=7)
    assert cc.shape == (1,) and cc[0] == pytest.approx(1.0)
    # a 40 Hz sinusoid peaks at 40 Hz
    x = 5 + np.sin(2 * np.pi * 40 * np.arange(4096) / 1000.0)
    f, p = stats.power_spectrum(x, 1.0)
    assert f[np.argmax(p)] == pytest.approx(40, abs=1.0)
    s = stats.sample_neurons(1000, 20, 1, "L4E")
    assert s.size == 20 and np.array_equal(s, stats.sample_neurons(1000, 20, 1, "L4E"))
    assert not np.array_equal(s, stats.sample_neurons(1000, 20, 1, "L4I"))


# --- command line and figures -----------------------------------------------------------------
def test_cli_json_and_table(small, result, capsys):
    path = small[0]
    assert cli_main([path, "--json", "--no-figures", "--n-sample", str(N_SAMPLE)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out["rates"]) == list(MICROCIRCUIT_NAMES)
    for p in result.populations:
        assert out["rates"][p.name] == pytest.approx(p.rate, rel=1e-12)
        assert out["populations"][p.name]["cv"]["n"] == p.cv.size
    assert out["t_start_ms"] == T_PRESIM and out["reference_rates"]["L23E"] == 0.903

    assert cli_main([path, "--no-figures", "--t-start", "1000", "--t-stop", "2000"]) == 0
    table = capsys.readouterr().out
    assert "window (1000, 2000] ms" in table and "reference" in table
    assert "CV: ISI CV over all neurons" in table
    assert all(n in table for n in MICROCIRCUIT_NAMES)

    assert cli_main([path + ".missing", "--no-figures"]) == 1


def test_figures_written(small, tmp_path, capsys):
    fig_dir = tmp_path / "figs"
    assert cli_main([small[0], "--fig-dir", str(fig_dir), "--json"]) == 0
    figs = json.loads(capsys.readouterr().out)["figures"]
    assert set(figs) == {"raster", "rates", "distributions", "spectra", "activity"}
    for p in figs.values():
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        assert os.path.getsize(p) > 10_000


def test_package_does_not_import_distsim_and_runs_as_module(small):
    code = ("import sys, analysis, analysis.cli, analysis.figures, analysis.synthetic, "
            "analysis.reference; "
            "bad = [m for m in sys.modules if m == 'distsim' or m.startswith('distsim.')]; "
            "assert not bad, bad")
    env = dict(os.environ, PYTHONPATH=ROOT)
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)
    p = subprocess.run([sys.executable, "-m", "analysis", small[0], "--json", "--no-figures",
                        "--t-start", "500"], check=True, env=env, cwd=ROOT,
                       capture_output=True, text=True)
    assert json.loads(p.stdout)["t_start_ms"] == 500.0


# --- one window convention: every spike of a known run is counted ---------------------------
def test_every_spike_of_a_known_run_is_counted(tmp_path, capsys):
    """distsim stamps a spike at the end of its step, so a run has stamps in (0, t_sim]. The
    default window (t_presim, t_sim] must count every spike after the warm-up, including
    those of the run's last step, and none of the warm-up's last step (regression: the
    window was [t_start, t_stop) and dropped the last step's spikes)."""
    from distsim.comm import SerialComm
    from distsim.engine import Simulation
    from distsim.networks.brunel import brunel
    from distsim.recording import MemoryRecorder, TeeRecorder
    from distsim.recording.hdf5 import HDF5Recorder

    presim, end = 135, 1135                     # steps of 0.1 ms
    # the edges must matter: take the first seed whose run has spikes in its last step and in
    # the warm-up's last step (this Brunel network fires its first burst at 12-15 ms; the first
    # seed that qualifies changes when the engine's spike trains do)
    for seed in range(1, 41):
        path = str(tmp_path / f"run{seed}.h5")
        mem = MemoryRecorder()
        rec = HDF5Recorder(path, flush_interval_ms=25.0, t_presim_ms=13.5)
        sim = Simulation(brunel(order=50), seed=seed, comm=SerialComm(),
                         recorder=TeeRecorder([mem, rec]))
        sim.run(13.5)
        sim.run(100.0)
        rec.close(sim)
        mem.close(sim)
        gids, stamps = mem.gather_spikes(sim.comm)
        if np.count_nonzero(stamps == end) > 0 and np.count_nonzero(stamps == presim) > 0:
            break
    else:
        pytest.fail("no seed in 1..40 gives spikes in both edge steps")

    res = analyze_file(path, n_sample=None, activity_bin_ms=1.0)
    assert (res.t_start, res.t_stop) == (13.5, pytest.approx(113.5))
    dur_s = (res.t_stop - res.t_start) / 1000.0
    ranges = sim.net.gid_ranges()
    for p in res.populations:
        a, b = ranges[p.name]
        m = (gids >= a) & (gids < b) & (stamps > presim)
        exp = np.bincount(gids[m] - a, minlength=b - a)
        assert p.n_spikes == exp.sum() > 0
        assert np.array_equal(p.rates, exp / dur_s)
        # 100 full 1 ms bins: every counted spike is in exactly one bin
        assert p.activity.size == 100
        assert np.round(p.activity.sum() * p.size * 1e-3).astype(int) == exp.sum()
    # the whole run (0, t_sim]: every spike of the run
    res = analyze_file(path, 0.0, 113.5, n_sample=None)
    assert sum(p.n_spikes for p in res.populations) == gids.size
    # the command line prints the same counts
    assert cli_main([path, "--json", "--no-figures"]) == 0
    out = json.loads(capsys.readouterr().out)
    for name, (a, b) in ranges.items():
        m = (gids >= a) & (gids < b) & (stamps > presim)
        assert out["populations"][name]["n_spikes_window"] == np.count_nonzero(m)


def test_window_helpers_follow_the_step_convention():
    """(t_start, t_stop] in stamps == steps [t_start, t_stop), robust to k * dt rounding."""
    dt = 0.1
    stamps = np.arange(1, 31) * dt                       # steps 0..29, stamps 0.1..3.0
    m = stats.in_window(stamps, 0.3, 3.0, dt)
    assert np.array_equal(np.flatnonzero(m), np.arange(3, 30))   # stamps 0.4 .. 3.0
    b = stats.bin_index(stats.emission_times(stamps, dt), 0.0, 1.0)
    assert np.array_equal(np.bincount(b), [10, 10, 10])         # (0,1], (1,2], (2,3]
    assert stats.emission_shift_ms(None) == stats.NO_DT_SHIFT_MS
