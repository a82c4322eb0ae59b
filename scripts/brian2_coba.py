"""The COBA benchmark network (distsim's built-in ``coba``) in Brian2, cpp_standalone with OpenMP.

    .venv-brian2/bin/python scripts/brian2_coba.py --threads 2 --t-sim 1000 [--seed 1] [--method rk4]

Same network as ``distsim.networks.coba`` at its defaults (the values are repeated in
``COBA`` below, because this script runs in a Python without distsim's dependencies;
tests/unit/test_coba_network.py checks that they equal ``coba.PARAMS``): iaf_cond_exp
dynamics (V held at V_reset while refractory, conductances decaying meanwhile), threshold
V >= V_th, pairwise connections with probability p_conn, delay, initial V_m uniform in
[V_reset, V_th), and the initial stimulation as independent Poisson trains per neuron (a
PoissonGroup, one to one) until stim_stop_ms. NEST integrates with adaptive RKF45; Brian2
cannot integrate this system exactly, so it uses ``--method`` (default rk4, fixed step dt).

Prints one JSON line as scripts/nest_reference.py does: ``build_time_s`` (network
construction, code generation, compilation and the binary's set-up, i.e. everything but
the simulation loop), ``compile_time_s`` (code generation and compilation, part of the
build), ``sim_time_s`` (the binary's own timing of the run), ``peak_rss_bytes`` (of the
simulation binary; the compiler is not counted), ``python_peak_rss_bytes``, ``n_synapses``,
``n_neurons``, ``n_spikes``.

Brian2 2.9.0, the newest release, needs numpy < 2.4 (it reads ``np.ndarray.ptp``, removed in
numpy 2.4; fixed in brian2's repository after the release): scripts/setup.sh --test installs it
into its own environment ``.venv-brian2``.
"""
import argparse
import json
import os
import resource
import sys
import tempfile
import time

#: distsim's coba defaults (units in the names)
COBA = {"N_E": 3200, "N_I": 800, "p_conn": 0.02, "w_ex_nS": 6.0, "w_in_nS": 67.0, "delay_ms": 0.2,
        "C_m_pF": 200.0, "g_L_nS": 10.0, "E_L_mV": -60.0, "V_th_mV": -50.0, "V_reset_mV": -60.0,
        "t_ref_ms": 5.0, "E_ex_mV": 0.0, "E_in_mV": -80.0, "tau_syn_ex_ms": 5.0, "tau_syn_in_ms": 10.0,
        "stim_rate_Hz": 20.0, "stim_weight_nS": 100.0, "stim_stop_ms": 50.0, "dt": 0.1}

# run_cmd of the standalone binary: run ./main and record its own peak RSS (not the compiler's)
_RUN_AND_MEASURE = ("import resource, subprocess, sys\n"
                    "rc = subprocess.call(['./main'] + sys.argv[1:])\n"
                    "open('peak_rss_bytes.txt', 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN)"
                    ".ru_maxrss * 1024))\n"
                    "sys.exit(rc)\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--t-sim", type=float, default=1000.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--method", default="rk4", help="Brian2 state updater (euler, rk2, rk4, ...)")
    ap.add_argument("--dir", help="standalone project directory (default: a temporary one)")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    import brian2 as b2
    from brian2 import Hz, PoissonGroup, SpikeMonitor, Synapses, NeuronGroup, mV, ms, nS, pF

    c = COBA
    tmp = None
    if a.dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="brian2_coba_")
        a.dir = tmp.name
    b2.set_device("cpp_standalone", directory=a.dir, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = a.threads
    b2.prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, "-c", _RUN_AND_MEASURE]
    b2.defaultclock.dt = c["dt"] * ms
    b2.seed(a.seed)
    ns = {"g_L": c["g_L_nS"] * nS, "E_L": c["E_L_mV"] * mV, "E_ex": c["E_ex_mV"] * mV, "E_in": c["E_in_mV"] * mV,
          "C_m": c["C_m_pF"] * pF, "tau_ex": c["tau_syn_ex_ms"] * ms, "tau_in": c["tau_syn_in_ms"] * ms,
          "V_th": c["V_th_mV"] * mV, "V_reset": c["V_reset_mV"] * mV, "stim_rate": c["stim_rate_Hz"] * Hz,
          "stim_stop": c["stim_stop_ms"] * ms}
    eqs = """
    dv/dt = (g_L * (E_L - v) + ge * (E_ex - v) + gi * (E_in - v)) / C_m : volt (unless refractory)
    dge/dt = -ge / tau_ex : siemens
    dgi/dt = -gi / tau_in : siemens
    """
    n = c["N_E"] + c["N_I"]
    P = NeuronGroup(n, eqs, threshold="v >= V_th", reset="v = V_reset", refractory=c["t_ref_ms"] * ms,
                    method=a.method, namespace=ns)
    P.v = "V_reset + rand() * (V_th - V_reset)"
    E, I = P[:c["N_E"]], P[c["N_E"]:]
    Ce = Synapses(E, P, on_pre=f"ge_post += {c['w_ex_nS']} * nS", delay=c["delay_ms"] * ms)
    Ci = Synapses(I, P, on_pre=f"gi_post += {c['w_in_nS']} * nS", delay=c["delay_ms"] * ms)
    Ce.connect(p=c["p_conn"])
    Ci.connect(p=c["p_conn"])
    stim = PoissonGroup(n, rates="stim_rate * int(t < stim_stop)", namespace=ns)
    Cs = Synapses(stim, P, on_pre=f"ge_post += {c['stim_weight_nS']} * nS", delay=c["dt"] * ms)
    Cs.connect(j="i")
    count = SpikeMonitor(P, record=False)
    b2.run(a.t_sim * ms, namespace=ns)
    t1 = time.perf_counter()
    b2.device.build(directory=a.dir, compile=True, run=False)
    t2 = time.perf_counter()
    b2.device.run(directory=a.dir, with_output=False, run_args=[])
    t3 = time.perf_counter()
    sim = float(b2.device._last_run_time)
    with open(os.path.join(a.dir, "peak_rss_bytes.txt")) as f:
        rss = int(f.read())
    out = {"simulator": f"Brian2 {b2.__version__} cpp_standalone ({a.method})", "threads": a.threads,
           "n_neurons": n, "n_synapses": int(len(Ce) + len(Ci)), "build_time_s": (t3 - t0) - sim,
           "compile_time_s": t2 - t1, "sim_time_s": sim, "rtf": sim / (a.t_sim * 1e-3), "peak_rss_bytes": rss,
           "python_peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
           "n_spikes": int(count.num_spikes), "t_sim_ms": a.t_sim}
    print(json.dumps(out))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
