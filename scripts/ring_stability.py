"""NNMT paper Fig. 9 from distsim: linear stability of the Senk et al. (2020) ring network,
the predicted most unstable wavenumber against the pattern a distsim simulation forms.

For each parameter set (``unstable``: the paper's, delay 1.5 ms; ``stable``: the same
network with delay 0.5 ms, predicted stable at every wavenumber):

1. prediction: the LIF transfer function at the working point (mu, sigma) = (10, 10) mV is
   fitted with a low-pass rate model, and the characteristic equation is solved through
   the Lambert W function (``distsim.meanfield.spatial``) on the wavenumbers of the ring,
   k_n = 2 pi n / L; the most unstable mode n* has the largest Re lambda;
2. simulation: ``mpirun -n 2 python -m distsim run ring`` (all spikes and the positions
   go to one HDF5 file);
3. measurement: E spikes binned in 1 ms x (L / n_bins), the spatial Fourier power of each
   time bin averaged over the run after ``--t-skip``, in units of the power of independent
   Poisson spiking (the mean spike count per time bin; 1 for no spatial structure). The
   measured mode is the strongest one; a pattern is present when its power exceeds
   ``--pattern-threshold`` times the Poisson level. Its temporal frequency comes from
   the spectrum of that mode's complex amplitude over time.

Exits 1 when the unstable set does not form a pattern at the predicted mode n* (frequency
within 20 % of Im lambda* / 2 pi) or when the stable set forms one; writes
``scripts/results/ring_stability.png`` and ``ring_stability.json``.

    python scripts/ring_stability.py            # ~30 s of CPU per simulation on 2 ranks
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from distsim.meanfield.spatial import most_unstable, ring_eigenvalues, ring_rate_model  # noqa: E402
from distsim.networks.ring import NEURON, PARAMS, derive  # noqa: E402

SETS = {"unstable": {"delay": 1.5}, "stable": {"delay": 0.5}}
BRANCHES = (-2, -1, 0, 1, 2)


def predict(delay_ms, mu=10.0, sigma=10.0):
    """Rate-model prediction of the default ring with ``delay_ms``: dict with continuous
    wavenumbers ``k`` (1/mm) and eigenvalues ``lam`` [branch, k] (1/s), ring modes ``n``
    with ``lam_modes`` (1/s, principal-branch maximum over branches per mode), the most
    unstable mode ``n_star``, its ``k_star`` (1/mm) and ``lam_star``."""
    d = {k: p.default for k, p in PARAMS.items()}
    P = derive(mu, sigma, d["K_E"], d["K_I"], d["J"], d["g"])
    K = [[d["K_E"], d["K_I"]]] * 2
    tau, W, _ = ring_rate_model(mu, sigma, NEURON, [P["J_mV"]] * 2, K)
    widths = [d["width_E"], d["width_I"]]
    k = np.linspace(0.0, 100.0, 1001)
    lam = ring_eigenvalues(W, tau[0], delay_ms * 1e-3, widths, k, BRANCHES)
    n = np.arange(1, d["n_positions"] // 20 + 1)
    k_modes = 2 * np.pi * n / d["L"]
    lam_m = ring_eigenvalues(W, tau[0], delay_ms * 1e-3, widths, k_modes, BRANCHES)
    lam_modes = lam_m[np.argmax(lam_m.real, axis=0), np.arange(n.size)]
    k_star, lam_star = most_unstable(k_modes, lam_m)
    return {"k": k, "lam": lam, "n": n, "k_modes": k_modes, "lam_modes": lam_modes,
            "n_star": int(round(k_star * d["L"] / (2 * np.pi))), "k_star": k_star, "lam_star": lam_star,
            "k_star_continuous": most_unstable(k, lam)[0], "tau_rate_s": float(tau[0]), "W_rate": W.tolist(),
            "rate_Hz": P["rate"], "L": d["L"]}


def simulate(path, delay_ms, t_ms, seed, n_ranks):
    """Run the ring on ``n_ranks`` MPI ranks into ``path``; returns distsim's run facts."""
    cmd = ["mpirun", "-n", str(n_ranks), sys.executable, "-m", "distsim", "run", "ring", "--set",
           f"delay={delay_ms}", "--t-sim", str(t_ms), "--seed", str(seed), "-o", str(path), "--overwrite", "-q"]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure(path, t_skip_ms=100.0, n_bins=100, bin_ms=1.0, pop="E"):
    """Spatial pattern of ``pop`` in a distsim output file: dict with the binned activity
    ``H`` [time, space] (spikes per bin), mode numbers ``n`` and the spatial power per mode
    ``power`` in units of the Poisson level, the strongest mode ``n_meas``, its wavenumber
    ``k_meas`` (1/mm), ``strength`` (its power) and temporal frequency ``f_meas_Hz``
    (signed: the sign gives the direction of travel)."""
    import h5py

    from distsim.recording.hdf5 import read_positions, read_spikes

    gids, t = read_spikes(path)[pop]
    with h5py.File(path, "r") as f:
        ds = f["positions"][pop]
        gid0, L, center, t_end = (int(ds.attrs["gid_start"]), float(ds.attrs["extent"][0]),
                                  float(ds.attrs["center"][0]), float(f["meta"].attrs["t_sim_ms"]))
    x = read_positions(path)[pop][(gids - gid0).astype(np.int64), 0]
    t_edges = np.arange(0.0, t_end + 0.5 * bin_ms, bin_ms)
    x_edges = center - L / 2 + np.linspace(0.0, L, n_bins + 1)
    H, _, _ = np.histogram2d(t, x, bins=[t_edges, x_edges])
    A = H[int(round(t_skip_ms / bin_ms)):]
    F = np.fft.rfft(A, axis=1)
    poisson = A.sum(axis=1).mean()  # E|F_n|^2 of independent Poisson counts
    power = (np.abs(F[:, 1:]) ** 2).mean(axis=0) / poisson
    n = np.arange(1, power.size + 1)
    i = int(np.argmax(power))
    amp = F[:, i + 1] - F[:, i + 1].mean()
    spec = np.abs(np.fft.fft(amp)) ** 2
    freqs = np.fft.fftfreq(amp.size, bin_ms * 1e-3)
    return {"H": H, "t_edges": t_edges, "x_edges": x_edges, "n": n, "power": power, "n_meas": int(n[i]),
            "k_meas": 2 * np.pi * n[i] / L, "strength": float(power[i]),
            "f_meas_Hz": float(freqs[np.argmax(spec)]),
            "rate_Hz": float(t.size / read_positions(path)[pop].shape[0] / (t_end * 1e-3))}


def figure(pred, meas, path, threshold):
    """Six panels: Re and Im lambda(k) of both sets, space-time activity of both runs, the
    measured spatial power spectra with the predicted k*, and the comparison as text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(2, 3, figsize=(15, 8.5))
    colors = {-2: "#EECC66", -1: "#EE99AA", 0: "#994455", 1: "#004488", 2: "#6699CC"}
    for name, ls in (("unstable", "-"), ("stable", "--")):
        p = pred[name]
        for j, b in enumerate(BRANCHES):
            ax[0, 0].plot(p["k"], p["lam"][j].real * 1e-3, ls, color=colors[b], lw=1.2,
                          label=f"branch {b}" if name == "unstable" else None)
            ax[0, 1].plot(p["k"], p["lam"][j].imag / (2 * np.pi), ls, color=colors[b], lw=1.2)
        ax[0, 0].plot(p["k_star"], p["lam_star"].real * 1e-3, "*", ms=14, color="k" if name == "unstable" else "0.5",
                      label=f"max, delay {SETS[name]['delay']} ms: n* = {p['n_star']}")
    ax[0, 0].axhline(0, color="k", lw=0.6)
    ax[0, 0].set(xlabel="wavenumber k (1/mm)", ylabel="Re λ (1000/s)", ylim=(-3, 0.5),
                 title="A  Re λ(k); solid: delay 1.5 ms, dashed: 0.5 ms")
    ax[0, 0].legend(fontsize=7, loc="lower right")
    ax[0, 1].set(xlabel="wavenumber k (1/mm)", ylabel="Im λ / 2π (Hz)", ylim=(-600, 600),
                 title="B  oscillation frequency")
    for col, name in ((0, "unstable"), (1, "stable")):
        m = meas[name]
        sl = slice(len(m["t_edges"]) - 61, len(m["t_edges"]) - 1)  # last 60 ms
        a = ax[1, col]
        a.imshow(m["H"][sl].T, aspect="auto", origin="lower", cmap="viridis",
                 extent=[m["t_edges"][sl.start], m["t_edges"][sl.stop], m["x_edges"][0], m["x_edges"][-1]])
        a.set(xlabel="time (ms)", ylabel="position (mm)",
              title=f"{'CD'[col]}  E spikes per 1 ms x {m['x_edges'][1] - m['x_edges'][0]:.2f} mm, "
                    f"delay {SETS[name]['delay']} ms")
    a = ax[0, 2]
    for name, c in (("unstable", "k"), ("stable", "0.5")):
        m = meas[name]
        a.semilogy(m["k_meas"] * m["n"] / m["n_meas"], m["power"], "o-", ms=3, color=c,
                   label=f"delay {SETS[name]['delay']} ms")
    a.axvline(pred["unstable"]["k_star"], color="#994455", ls=":", label="predicted k* (1.5 ms)")
    a.axhline(1.0, color="0.7", lw=0.8, label="independent Poisson")
    a.axhline(threshold, color="0.7", ls="--", lw=0.8, label="pattern threshold")
    a.set(xlabel="wavenumber k = 2πn/L (1/mm)", ylabel="spatial power / Poisson level", xlim=(0, 100),
          title="E  spatial power spectrum of the simulated activity")
    a.legend(fontsize=8)
    ax[1, 2].axis("off")
    lines = ["F  prediction vs simulation (2 MPI ranks)", ""]
    for name in ("unstable", "stable"):
        p, m = pred[name], meas[name]
        lines += [f"delay {SETS[name]['delay']} ms ({name}):",
                  f"  predicted: max Re λ = {p['lam_star'].real:.1f}/s",
                  f"    at n* = {p['n_star']} (k* = {p['k_star']:.1f}/mm), f = "
                  f"{abs(p['lam_star'].imag) / (2 * np.pi):.0f} Hz",
                  f"  simulated: strongest mode n = {m['n_meas']} (k = {m['k_meas']:.1f}/mm)",
                  f"    power {m['strength']:.1f} x Poisson, f = {abs(m['f_meas_Hz']):.0f} Hz",
                  f"    E rate {m['rate_Hz']:.1f} spikes/s (theory {p['rate_Hz']:.1f})", ""]
    lines += [f"pattern: strongest mode > {threshold:g} x Poisson"]
    ax[1, 2].text(0, 1, "\n".join(lines), va="top", family="monospace", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    """Predict, simulate, measure, compare and plot; returns the exit code (0 = agreement)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=str(ROOT / "scripts" / "results"))
    ap.add_argument("--t-sim", type=float, default=800.0, help="simulated time per run (ms)")
    ap.add_argument("--t-skip", type=float, default=100.0, help="transient left out of the measurement (ms)")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--n-ranks", type=int, default=2)
    ap.add_argument("--pattern-threshold", type=float, default=20.0,
                    help="a pattern: strongest spatial mode above this many times the Poisson level")
    ap.add_argument("--reuse", action="store_true", help="measure existing output files instead of simulating")
    a = ap.parse_args(argv)
    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pred, meas, facts = {}, {}, {}
    for name, s in SETS.items():
        pred[name] = predict(s["delay"])
        h5 = out / f"ring_{name}.h5"
        if not a.reuse:
            facts[name] = simulate(h5, s["delay"], a.t_sim, a.seed, a.n_ranks)
        meas[name] = measure(str(h5), a.t_skip)
    u, st = (pred["unstable"], meas["unstable"]), (pred["stable"], meas["stable"])
    checks = {
        "unstable set predicted unstable": u[0]["lam_star"].real > 0,
        "stable set predicted stable": st[0]["lam_star"].real < 0,
        "unstable set forms a pattern": u[1]["strength"] > a.pattern_threshold,
        "pattern at the predicted mode n*": u[1]["n_meas"] == u[0]["n_star"],
        "pattern frequency within 20 % of Im lambda*/2pi":
            abs(abs(u[1]["f_meas_Hz"]) / (abs(u[0]["lam_star"].imag) / (2 * np.pi)) - 1) < 0.2,
        "stable set forms no pattern": st[1]["strength"] < a.pattern_threshold,
    }
    figure(pred, meas, out / "ring_stability.png", a.pattern_threshold)
    summary = {name: {"predicted": {"n_star": pred[name]["n_star"], "k_star_per_mm": pred[name]["k_star"],
                                    "k_star_continuous_per_mm": pred[name]["k_star_continuous"],
                                    "lambda_star_per_s": [pred[name]["lam_star"].real, pred[name]["lam_star"].imag],
                                    "tau_rate_s": pred[name]["tau_rate_s"], "W_rate": pred[name]["W_rate"],
                                    "rate_Hz": pred[name]["rate_Hz"]},
                      "measured": {k: meas[name][k] for k in ("n_meas", "k_meas", "strength", "f_meas_Hz")},
                      "run": facts.get(name)} for name in SETS}
    summary["checks"] = {k: bool(v) for k, v in checks.items()}
    (out / "ring_stability.json").write_text(json.dumps(summary, indent=1, default=float))
    for k, v in checks.items():
        print(f"{'ok  ' if v else 'FAIL'} {k}")
    for name in SETS:
        p, m = pred[name], meas[name]
        print(f"{name}: predicted n*={p['n_star']} k*={p['k_star']:.2f}/mm Re lambda*={p['lam_star'].real:.1f}/s "
              f"f*={abs(p['lam_star'].imag) / 2 / np.pi:.0f} Hz | measured n={m['n_meas']} k={m['k_meas']:.2f}/mm "
              f"power {m['strength']:.1f} x Poisson f={abs(m['f_meas_Hz']):.0f} Hz")
    print(f"figure: {out / 'ring_stability.png'}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
