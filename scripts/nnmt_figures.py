#!/usr/bin/env python
"""Figures 2, 4, 5, 6 and 8 of the NNMT paper (Layer et al. 2022, Front. Neuroinform.
16:835657) computed with distsim: ``distsim.meanfield`` for the theory, ``distsim run`` +
``analysis`` for the simulated spectra.

    .venv/bin/python scripts/nnmt_figures.py [--figs 2 4 5 6 8] [--out out/nnmt_figures]
        [--t-sim 2000] [--N-scaling 0.1] [--K-scaling 0.5] [--ranks 1]

- Fig. 2: response nonlinearities of E-I networks of ``iaf_psc_delta`` neurons (Sanzeni et al.
  2020, Fig. 8 parameters): self-consistent rates vs external rate nu_X; every fixed point the
  root finder finds from many starts, stable (filled) and unstable (open).
- Fig. 4: 'shift' transfer function (Schuecker et al. 2015; V_th = 20 mV, V_reset = 15 mV,
  tau_m = 20 ms, tau_s = 0.5 ms, t_ref = 0), sigma = 4 and 1.5 mV, mu set for 10 and 30
  spikes/s (solved here), without the synaptic low-pass, amplitude and phase.
- Fig. 5: power spectra of the population rates of the microcircuit (distsim's built-in model
  at ``--N-scaling``/``--K-scaling``), simulated for ``--t-sim`` ms (1 ms bins): periodogram of
  the whole trace (light grey), Welch average over 500 ms windows (grey), and the mean-field
  prediction for the same network with the same binning (black; ``binned_power_spectra``).
- Fig. 6: sensitivity measure of the microcircuit's low-gamma eigenmode (the eigenvalue
  trajectory of W(f) that comes closest to 1 between 30 and 100 Hz), amplitude and frequency
  parts; and the predicted spectrum of L4I with K(L4I -> L4I) raised by 5 and 10 %, the extra
  inhibition compensated by external excitatory in-degree so that mu(L4I) stays the same.
- Fig. 8: working points of the E-I network of Senk et al. 2020 (tau_m = 5 ms, g = 5):
  external E and I rates that set (mu, sigma) on a 6-12 mV grid, the resulting rate, the
  transfer function with its low-pass fit at four working points, and the fitted tau, w_E and
  fit error.

Each figure is ``fig<N>.png`` in ``--out``; numbers are printed. The theory figures take a
few seconds each; Fig. 5 simulates (about 1 min of CPU for 2 s of the 0.1-scale microcircuit).
Units: ms, mV, spikes/s, Hz.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.optimize import brentq  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from distsim import meanfield as mf  # noqa: E402
from distsim.meanfield.rates import _default_starts, _fixed_points, _rate_map  # noqa: E402
from distsim.meanfield.siegert import _siegert  # noqa: E402
from distsim.meanfield.stability import _fit_transfer_function  # noqa: E402
from distsim.meanfield.statistics import _external_rates_for_fixed_input  # noqa: E402
from distsim.meanfield.linear import _transfer_function_shift  # noqa: E402

E_COL, I_COL = "#4c72b0", "#c44e52"


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


# --------------------------------------------------------------------------- Fig. 2
#: Sanzeni et al. 2020, Fig. 8: (title, K (E, I rows), J (mV), K_ext, J_ext (mV), nu_X range (spikes/s),
#: rate axis limit (spikes/s))
def _sanzeni(gE, gI, aE, aI, J=0.2, K=((400.0, 100.0), (400.0, 100.0)), J_I=None):
    JI = J if J_I is None else J_I
    K = np.array(K)
    return {"K": K, "J": np.array([[J, -gE * J], [JI, -gI * JI]]),
            "K_ext": np.array([aE * K[0, 0], aI * K[1, 0]]), "J_ext": np.array([J, JI])}


FIG2_NETWORKS = [
    ("saturation-driven\nnonlinearity", _sanzeni(8, 7, 4, 2), (1.0, 100.0), 500.0),
    ("saturation-driven\nmulti-solution", _sanzeni(2.08, 1.67, 1, 1, J_I=2.4 * 0.2 / 2.5), (1.0, 100.0), 500.0),
    ("response-onset\nsupersaturation", _sanzeni(4.5, 2.9, 1, 1), (0.5, 50.0), 5.0),
    ("mean-driven\nmulti-solution", _sanzeni(4.1, 2.46, 1, 0.2, K=((800.0, 200.0), (400.0, 100.0))),
     (0.1, 10.0), 50.0),
    ("noise-driven\nmulti-solution", _sanzeni(7, 6, 1, 0.7, J=0.5), (0.05, 5.0), 10.0),
]


def _ei_arrays(net, nu_x):
    """Mean-field arrays of a Sanzeni E-I network (iaf_psc_delta, V_th 20, V_reset 10 mV,
    tau_m 20 ms, t_ref 2 ms) with external Poisson rate nu_x (spikes/s)."""
    return {"populations": ["E", "I"], "K": net["K"], "J": net["J"], "tau_m": np.full(2, 20.0),
            "t_ref": np.full(2, 2.0), "tau_s": np.zeros(2), "V_th_rel": np.full(2, 20.0),
            "V_reset_rel": np.full(2, 10.0), "K_ext": net["K_ext"], "J_ext": net["J_ext"], "nu_ext": nu_x,
            "I_e": np.zeros(2), "C_m": np.ones(2)}


def fig2_solutions(net, nu_x_range, n=30):
    """All fixed points per external rate: list of (nu_x, rates (2,), stable).

    Root finder from the solutions at the previous nu_x, the default starts and a grid.
    """
    out = []
    prev = []
    grid = [np.array([e, i]) for e in (0.0, 3.0, 30.0, 300.0) for i in (0.0, 3.0, 30.0, 300.0)]
    for x in np.linspace(*nu_x_range, n):
        a = _ei_arrays(net, x)
        starts = prev + _default_starts(2, a["t_ref"]) + grid
        fps = _fixed_points(lambda v, a=a: _rate_map(v, a), starts)
        prev = [f["rates"] for f in fps]
        out += [(x, f["rates"], f["stable"]) for f in fps]
    return out


def fig2(out_dir):
    plt = _plt()
    fig, axs = plt.subplots(2, 3, figsize=(11, 6.5))
    ax0 = axs[0, 0]
    ax0.axis("off")
    ax0.text(0.0, 0.95, "E-I network, iaf_psc_delta\n(Sanzeni et al. 2020, Fig. 8 parameters)\n\n"
             "filled: stable fixed point\nopen: unstable fixed point\n"
             "(pseudo-time dynamics\n tau dnu/dt = -nu + Phi(nu))", va="top", fontsize=10,
             transform=ax0.transAxes)
    ax0.plot([], [], "o", color=E_COL, label="E")
    ax0.plot([], [], "o", color=I_COL, label="I")
    ax0.legend(loc="lower left", frameon=False)
    print("Fig. 2: fixed points per external rate")
    for ax, (title, net, rng, ymax), lab in zip(axs.ravel()[1:], FIG2_NETWORKS, "BCDEF"):
        sol = fig2_solutions(net, rng)
        n_multi = 0
        xs = np.array([s[0] for s in sol])
        for x in np.unique(xs):
            n_multi = max(n_multi, int(np.sum(xs == x)))
        for k, col in ((0, E_COL), (1, I_COL)):
            st = np.array([(s[0], s[1][k]) for s in sol if s[2]]).reshape(-1, 2)
            un = np.array([(s[0], s[1][k]) for s in sol if not s[2]]).reshape(-1, 2)
            ax.plot(st[:, 0], st[:, 1], "o", ms=3.5, color=col)
            ax.plot(un[:, 0], un[:, 1], "o", ms=4, mfc="none", color=col)
        ax.set_xlim(0, rng[1])
        ax.set_ylim(0, ymax)
        ax.set_title(f"({lab}) {title}", fontsize=10)
        ax.set_xlabel(r"external rate $\nu_X$ (spikes/s)")
        ax.set_ylabel(r"rate $\nu$ (spikes/s)")
        print(f"  {title.replace(chr(10), ' ')}: up to {n_multi} fixed points per nu_X")
    fig.tight_layout()
    path = os.path.join(out_dir, "fig2.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- Fig. 4
def fig4(out_dir):
    plt = _plt()
    V_th, V_r, tau_m, tau_s, t_ref = 20.0, 15.0, 20.0, 0.5, 0.0
    freqs = np.geomspace(0.1, 10**2.8, 400)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    print("Fig. 4: mean input for the target rates")
    for sigma, ls in ((4.0, "-"), (1.5, "--")):
        for nu_t, col in ((10.0, "k"), (30.0, "0.55")):
            mu = brentq(lambda m: float(_siegert(m, sigma, V_th, V_r, tau_m, t_ref, tau_s)) - nu_t, -20.0, 40.0,
                        xtol=1e-12)
            H = _transfer_function_shift(mu, sigma, tau_m, tau_s, t_ref, V_th, V_r, freqs, synaptic_filter=False)[:, 0]
            print(f"  sigma = {sigma} mV, nu = {nu_t:g} spikes/s: mu = {mu:.3f} mV, |H(0.1 Hz)| = {abs(H[0]):.3f}")
            lab = f"({mu:.2f}, {sigma:g}) mV, {nu_t:g} spikes/s"
            a1.semilogx(freqs, np.abs(H), ls=ls, color=col, label=lab)
            a2.semilogx(freqs, np.degrees(np.angle(H)), ls=ls, color=col, label=lab)
    a1.set_ylabel(r"amplitude $|H(\omega)|$ (spikes/s per mV)")
    a2.set_ylabel(r"phase $\angle H(\omega)$ (degrees)")
    for ax, lab in ((a1, "A"), (a2, "B")):
        ax.set_xlabel(r"frequency $\omega/2\pi$ (Hz)")
        ax.set_title(f"({lab}) 'shift' transfer function (colored noise, tau_s = 0.5 ms;\n"
                     "without the synaptic low-pass)", fontsize=10)
        ax.grid(alpha=0.3, which="both")
    a2.legend(title=r"($\mu$, $\sigma$), rate", fontsize=8, loc="lower left")
    fig.tight_layout()
    path = os.path.join(out_dir, "fig4.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- Fig. 5
def fig5(out_dir, t_sim, N_scaling, K_scaling, ranks, seed=1, t_presim=200.0):
    import analysis
    from analysis.stats import power_spectrum
    from distsim.meanfield.compare import build, meanfield, same_spec
    from distsim.meanfield.network import delay_truncation

    plt = _plt()
    kw = {"N_scaling": N_scaling, "K_scaling": K_scaling}
    net = build("microcircuit", kw)
    pred = meanfield(net)
    path_h5 = os.path.join(out_dir, f"fig5_microcircuit_N{N_scaling:g}_K{K_scaling:g}_T{t_sim:g}.h5")
    if not (os.path.exists(path_h5) and same_spec(net, path_h5)):
        py = [sys.executable] if ranks == 1 else ["mpirun", "-n", str(ranks), sys.executable, "-m", "mpi4py"]
        cmd = py + ["-m", "distsim", "run", "microcircuit", "--seed", str(seed), "--t-presim", str(t_presim),
                    "--t-sim", str(t_sim), "-o", path_h5, "--overwrite", "-q"]
        for k, v in kw.items():
            cmd += ["--set", f"{k}={v}"]
        print("Fig. 5: " + " ".join(cmd))
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True)
        print(f"  simulated in {time.perf_counter() - t0:.0f} s")
    res = analysis.analyze_file(path_h5, t_start=t_presim, nperseg=500)
    pops = pred["active"]
    fig, axs = plt.subplots(4, 2, figsize=(10, 11), sharex=True)
    for k, pop in enumerate(pops):
        ax = axs[k // 2, k % 2]
        act = res[pop].activity  # spikes/s, 1 ms bins
        fw, pw = power_spectrum(act, 1.0, nperseg=act.size)  # whole trace: one periodogram
        f5, p5 = res[pop].freqs, res[pop].psd  # Welch, 500 ms windows
        sel_w = (fw >= 1.0) & (fw <= 400.0)
        sel5 = (f5 >= 2.0) & (f5 <= 400.0)
        P = mf.binned_power_spectra(pred["params"], f5[sel5], pred["nu"], 1.0, delay_truncation(net))[:, k]
        ax.semilogy(fw[sel_w], pw[sel_w], color="0.82", lw=0.6, label=f"simulation, whole {t_sim / 1000:g} s (Hann periodogram)")
        ax.semilogy(f5[sel5], p5[sel5], color="0.45", lw=1.2, label="simulation, Welch 500 ms Hann windows")
        ax.semilogy(f5[sel5], P, color="k", lw=1.6, label="mean-field (same binning)")
        ax.set_title(f"{pop}: N = {pred['N'][pop]}, rate sim {res[pop].rate:.2f} / mf {pred['nu'][k]:.2f} spikes/s",
                     fontsize=9)
        ax.set_xlim(0, 400)
        ax.set_ylim(0.3 * np.min(P), 3 * max(np.max(P), np.max(p5[sel5])))
        if k % 2 == 0:
            ax.set_ylabel("power ((spikes/s)$^2$/Hz)")
    for ax in axs[-1]:
        ax.set_xlabel("frequency (Hz)")
    axs[0, 0].legend(fontsize=8, loc="upper right")
    fig.suptitle(f"Microcircuit (N_scaling {N_scaling:g}, K_scaling {K_scaling:g}): spectra of the population "
                 f"rates, 1 ms bins, {t_sim:g} ms after {t_presim:g} ms", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    path = os.path.join(out_dir, "fig5.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- Fig. 6
def fig6(out_dir):
    from distsim.networks import microcircuit_params

    plt = _plt()
    p = microcircuit_params.derive()
    names = p["populations"]
    freqs = np.arange(1.0, 400.0, 0.5)
    modes = mf.sensitivity_measure(p, freqs)
    low = [d for d in modes.values() if 30.0 <= d["critical_frequency"] <= 100.0]
    d = min(low, key=lambda d: abs(1.0 - d["critical_eigenvalue"]))
    lam = d["critical_eigenvalue"]
    print(f"Fig. 6: low-gamma mode at {d['critical_frequency']:g} Hz, lambda = {lam:.4f}, "
          f"|1 - lambda| = {abs(1 - lam):.4f}")
    fig = plt.figure(figsize=(13, 4.6))
    gs = fig.add_gridspec(1, 3, width_ratios=[1, 1, 1.15])
    K = p["indegrees"]
    for j, (key, title) in enumerate((("sensitivity_amp", "amplitude part $Z^{amp}$"),
                                      ("sensitivity_freq", "frequency part $Z^{freq}$"))):
        ax = fig.add_subplot(gs[0, j])
        Z = np.ma.masked_where(K == 0, d[key])
        vmax = float(np.max(np.abs(Z)))
        cmap = plt.get_cmap("coolwarm").copy()
        cmap.set_bad("white")
        im = ax.imshow(Z, cmap=cmap, vmin=-vmax, vmax=vmax)
        ax.set_xticks(range(8), names, rotation=90, fontsize=8)
        ax.set_yticks(range(8), names, fontsize=8)
        ax.set_xlabel("source population")
        if j == 0:
            ax.set_ylabel("target population")
        ax.set_title(f"{'(A) ' if j == 0 else ''}{title}\nat {d['critical_frequency']:g} Hz", fontsize=10)
        fig.colorbar(im, ax=ax, fraction=0.046)
        top = np.unravel_index(np.argmax(np.abs(d[key])), K.shape)
        print(f"  largest |{key}|: {names[top[1]]} -> {names[top[0]]} = {d[key][top]:+.3f}")
    # (B) spectrum of L4I with K(L4I -> L4I) raised, mean input of L4I restored by K_ext
    ax = fig.add_subplot(gs[0, 2])
    i4 = names.index("L4I")
    a = mf.network_arrays(p)
    nu0 = mf.firing_rates(p)
    fP = np.arange(10.0, 400.0, 1.0)
    for scale, ls in ((1.0, "-"), (1.05, "--"), (1.10, ":")):
        q = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in p.items()}
        dK = (scale - 1.0) * K[i4, i4]
        q["indegrees"] = K.copy()
        q["indegrees"][i4, i4] += dK
        # keep mu(L4I) at the working point: K_ext J_ext nu_ext compensates dK J_II nu_I
        q["K_ext"] = np.asarray(p["K_ext"], float).copy()
        q["K_ext"][i4] -= dK * a["J"][i4, i4] * nu0[i4] / (a["J_ext"][i4] * a["nu_ext"])
        nu = mf.firing_rates(q, nu0=nu0)
        P = mf.power_spectra(q, fP, nu=nu)[:, i4]
        ax.semilogy(fP, P, "k", ls=ls, label=f"K(L4I->L4I) x {scale:.2f}, K_ext(L4I) {q['K_ext'][i4]:.0f}")
        band = (fP >= 30.0) & (fP <= 150.0)
        print(f"  K(L4I->L4I) x {scale:.2f}: low-gamma peak of P_L4I at {fP[band][np.argmax(P[band])]:g} Hz, "
              f"{np.max(P[band]):.3g} spikes/s; rate L4I {nu[i4]:.3f} spikes/s")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("power spectrum of L4I (spikes/s)")
    ax.set_title("(B) predicted spectrum of L4I\n(two-sided, full-scale network)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(out_dir, "fig6.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- Fig. 8
def senk2020_arrays():
    """Mean-field arrays of the E-I network of Senk et al. 2020 (non-spatial part; g = 5):
    iaf_psc_exp, tau_m 5 ms, tau_s 0.5 ms, t_ref 0, V_th - V_reset 15 mV (E_L = V_reset),
    C_m 250 pF, PSCs 87.8 / -439 pA, K = 400 E + 100 I; one external E and one external I
    Poisson source per neuron with the same PSCs."""
    J = 87.8 * 0.5 / 250.0  # mV
    g = 5.0
    Jm = np.array([[J, -g * J], [J, -g * J]])
    return {"populations": ["E", "I"], "K": np.array([[400.0, 100.0], [400.0, 100.0]]), "J": Jm,
            "tau_m": np.full(2, 5.0), "t_ref": np.zeros(2), "tau_s": np.full(2, 0.5),
            "V_th_rel": np.full(2, 15.0), "V_reset_rel": np.zeros(2), "K_ext": np.ones((2, 2)),
            "J_ext": Jm.copy(), "I_e": np.zeros(2), "C_m": np.full(2, 250.0)}


def fig8(out_dir):
    plt = _plt()
    a = senk2020_arrays()
    mus = sigmas = np.arange(6.0, 13.0, 1.0)
    freqs = np.arange(1.0, 200.0, 1.0)
    keys = ("nu_ext_E", "nu_ext_I", "rate", "tau_ms", "w_E", "fit_error")
    R = {k: np.full((mus.size, sigmas.size), np.nan) for k in keys}
    tfs = {}
    show = [(6.0, 6.0), (6.0, 12.0), (10.0, 10.0), (12.0, 12.0)]
    for i, mu in enumerate(mus):
        for j, sg in enumerate(sigmas):
            try:
                nu_ext = _external_rates_for_fixed_input(np.full(2, mu), np.full(2, sg), a["J"], a["K"], a["V_th_rel"],
                                                         a["V_reset_rel"], a["tau_m"], a["t_ref"], a["tau_s"],
                                                         a["J_ext"], a["K_ext"])
            except ValueError:
                continue
            nu = _siegert(mu, sg, a["V_th_rel"], a["V_reset_rel"], a["tau_m"], a["t_ref"], a["tau_s"])
            H = _transfer_function_shift(np.full(2, mu), np.full(2, sg), a["tau_m"], a["tau_s"], a["t_ref"],
                                         a["V_th_rel"], a["V_reset_rel"], freqs)
            fit, tau, h0, err = _fit_transfer_function(H, freqs)
            W_rate = 1e-3 * (h0 * a["tau_m"])[:, None] * a["J"] * a["K"]
            for k, v in zip(keys, (nu_ext[0], nu_ext[1], nu[0], tau[0], W_rate[0, 0], err[0])):
                R[k][i, j] = v
            if (mu, sg) in show:
                tfs[(mu, sg)] = (H[:, 0], fit[:, 0])
    i0, j0 = list(mus).index(10.0), list(sigmas).index(10.0)
    print("Fig. 8: at (mu, sigma) = (10, 10) mV: " + ", ".join(f"{k} {R[k][i0, j0]:.4g}" for k in keys))
    fig = plt.figure(figsize=(14, 6.2))
    gs = fig.add_gridspec(2, 5, width_ratios=[1, 1, 1, 0.1, 1.5], wspace=0.5, hspace=0.45)
    labels = {"nu_ext_E": "exc. external rate\n$\\nu_{ext,E}$ (1000 spikes/s)",
              "nu_ext_I": "inh. external rate\n$\\nu_{ext,I}$ (1000 spikes/s)", "rate": "rate $\\nu$ (spikes/s)",
              "tau_ms": "fit time constant $\\tau$ (ms)", "w_E": "fit exc. weight $w_E$",
              "fit_error": "fit error (%)"}
    scale = {"nu_ext_E": 1e-3, "nu_ext_I": 1e-3, "fit_error": 1e2}
    for n, k in enumerate(keys):
        ax = fig.add_subplot(gs[n // 3, n % 3])
        im = ax.pcolormesh(mus, sigmas, (R[k] * scale.get(k, 1.0)).T, shading="nearest")
        fig.colorbar(im, ax=ax, fraction=0.08)
        ax.plot(10.0, 10.0, "*", ms=13, mfc="k", mec="w")
        ax.set_title(("(A) " if n == 0 else "(C) " if n == 3 else "") + labels[k], fontsize=9)
        ax.set_xlabel(r"mean input $\mu$ (mV)", fontsize=8)
        if n % 3 == 0:
            ax.set_ylabel(r"std input $\sigma$ (mV)", fontsize=8)
    gtf = gs[:, 4].subgridspec(2, 1, hspace=0.08)
    aa, ap = fig.add_subplot(gtf[0]), fig.add_subplot(gtf[1])
    for c, (wp, (H, Hf)) in zip(("#882E72", "#4EB265", "#E8601C", "#555555"), tfs.items()):
        aa.semilogx(freqs, np.abs(H), color=c, label=f"({wp[0]:g}, {wp[1]:g}) mV")
        aa.semilogx(freqs, np.abs(Hf), "o", ms=2, color=c, alpha=0.5)
        ap.semilogx(freqs, np.degrees(np.angle(H)), color=c)
        ap.semilogx(freqs, np.degrees(np.angle(Hf)), "o", ms=2, color=c, alpha=0.5)
    aa.set_title("(B) transfer function (lines) and low-pass fit (dots)", fontsize=9)
    aa.set_ylabel("amplitude (spikes/s per mV)")
    ap.set_ylabel("phase (degrees)")
    ap.set_xlabel("frequency (Hz)")
    aa.tick_params(labelbottom=False)
    aa.legend(title=r"($\mu$, $\sigma$)", fontsize=8)
    path = os.path.join(out_dir, "fig8.png")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- main
def build_parser():
    """The command-line parser."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--figs", nargs="+", type=int, default=[2, 4, 5, 6, 8], choices=[2, 4, 5, 6, 8])
    p.add_argument("--out", default=os.path.join(ROOT, "out", "nnmt_figures"))
    p.add_argument("--t-sim", type=float, default=1500.0, help="Fig. 5: recorded time (ms)")
    p.add_argument("--N-scaling", type=float, default=0.1, help="Fig. 5: microcircuit N_scaling")
    p.add_argument("--K-scaling", type=float, default=0.5, help="Fig. 5: microcircuit K_scaling")
    p.add_argument("--ranks", type=int, default=1, help="Fig. 5: MPI ranks of the simulation")
    return p


def main(argv=None) -> int:
    """Make the requested figures; returns the exit code."""
    args = build_parser().parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    makers = {2: lambda: fig2(args.out), 4: lambda: fig4(args.out),
              5: lambda: fig5(args.out, args.t_sim, args.N_scaling, args.K_scaling, args.ranks),
              6: lambda: fig6(args.out), 8: lambda: fig8(args.out)}
    for n in args.figs:
        t0 = time.perf_counter()
        path = makers[n]()
        print(f"wrote {path} ({time.perf_counter() - t0:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
