"""Small plastic networks shared by the unit and MPI tests, and a slow, readable reference of
NEST's STDP and tsodyks2 rules that replays recorded spike trains."""
import math

from distsim.spec import Device, Network, Population, Projection

STDP = {"model": "stdp_synapse", "tau_plus": 15.0, "lambda": 0.05, "alpha": 1.2, "mu_plus": 0.4,
        "mu_minus": 0.6, "Wmax": 120.0}
PL = {"model": "stdp_pl_synapse_hom", "tau_plus": 20.0, "lambda": 0.1, "alpha": 1.05, "mu": 0.4}
TSO = {"model": "tsodyks2_synapse", "U": 0.3, "u": 0.3, "x": 1.0, "tau_rec": 200.0, "tau_fac": 50.0}


def plastic_net(n_e=40, n_i=10, indegree=8, delay=None):
    """E and I iaf_psc_alpha neurons under Poisson drive: E->E stdp_pl_synapse_hom and
    stdp_synapse (uniform delays: several per target, multapses), E->I tsodyks2_synapse,
    I->E static, a checkpointable mix of every synapse kind."""
    d = delay if delay is not None else {"dist": "uniform", "low": 0.5, "high": 3.0}
    pops = [Population("E", "iaf_psc_alpha", n_e, {"tau_minus": 25.0,
                                                   "V_m": {"dist": "uniform", "low": -70.0, "high": -56.0}}),
            Population("I", "iaf_psc_alpha", n_i, {})]
    projs = [Projection("E", "E", "fixed_indegree", weight={"dist": "normal", "mean": 45.0, "std": 5.0, "min": 0.0},
                        delay_ms=1.5, indegree=indegree, synapse=dict(PL)),
             Projection("E", "E", "fixed_indegree", weight=60.0, delay_ms=d, indegree=indegree,
                        synapse=dict(STDP)),
             Projection("E", "I", "fixed_indegree", weight=80.0, delay_ms=d, indegree=indegree,
                        synapse=dict(TSO)),
             Projection("I", "E", "fixed_indegree", weight=-200.0, delay_ms=1.0, indegree=3)]
    devs = [Device("poisson_generator", ["E", "I"], {"rate_Hz": 9000.0, "weight": 90.0}),
            Device("spike_recorder", ["E", "I"])]
    return Network(pops, projs, devs, dt_ms=0.1)


def reference_stdp(kind, c, pre, post, d_steps, w0, dt, tau_minus):
    """NEST's stdp_synapse (kind "stdp") or stdp_pl_synapse_hom ("pl") weight after each
    presynaptic stamp in ``pre``, with postsynaptic stamps ``post``, delay ``d_steps``: the
    whole history, no pruning, plain Python floats."""
    w, kplus, t_last = w0, 0.0, 0.0
    out = []
    post_t = [s * dt for s in post]
    # K_minus after each postsynaptic spike
    kminus_after, km, last = [], 0.0, -1.0
    for t in post_t:
        km = km * math.exp((last - t) / tau_minus) + 1.0
        kminus_after.append(km)
        last = t
    dd = d_steps * dt
    for s in pre:
        t = s * dt
        for i, sp in enumerate(post):
            if s_last_minus(t_last, dt) - d_steps < sp <= s - d_steps:
                x = kplus * math.exp((t_last - (post_t[i] + dd)) / c["tau_plus"])
                if kind == "stdp":
                    nw = w / c["Wmax"] + c["lambda"] * (1 - w / c["Wmax"]) ** c["mu_plus"] * x
                    w = nw * c["Wmax"] if nw < 1.0 else c["Wmax"]
                else:
                    w = w + c["lambda"] * w ** c["mu"] * x
        k = 0.0
        for i in range(len(post) - 1, -1, -1):
            if post[i] < s - d_steps:
                k = kminus_after[i] * math.exp((post_t[i] - (t - dd)) / tau_minus)
                break
        if kind == "stdp":
            nw = w / c["Wmax"] - c["alpha"] * c["lambda"] * (w / c["Wmax"]) ** c["mu_minus"] * k
            w = nw * c["Wmax"] if nw > 0.0 else 0.0
        else:
            nw = w - c["lambda"] * c["alpha"] * w * k
            w = nw if nw > 0.0 else 0.0
        out.append(w)
        kplus = kplus * math.exp((t_last - t) / c["tau_plus"]) + 1.0
        t_last = t
    return out


def s_last_minus(t_last, dt):
    """The stamp of time t_last (ms)."""
    return int(round(t_last / dt))


def reference_tsodyks2(c, pre, dt):
    """x u (the factor of the weight) delivered with each presynaptic stamp of ``pre``."""
    u, x, t_last = c["u"], c["x"], -1.0
    out = []
    for s in pre:
        t = s * dt
        if t_last >= 0.0:
            h = t - t_last
            xd = math.exp(-h / c["tau_rec"])
            ud = 0.0 if c["tau_fac"] == 0 else math.exp(-h / c["tau_fac"])
            x = 1.0 + (x - x * u - 1.0) * xd
            u = c["U"] + u * (1.0 - c["U"]) * ud
        out.append(x * u)
        t_last = t
    return out
