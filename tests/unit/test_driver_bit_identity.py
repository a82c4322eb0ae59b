"""Regression baseline for the model/driver refactor (issue 15 item 1): spikes and recorded
traces of the existing models must stay bit-identical.

Each case runs a small network serially and hashes (SHA-256) its spikes (gid, stamp, sorted)
and every recorded trace (gids, stamps and the float64 bytes of the values). ``REFERENCE``
holds the hashes computed with the code of main at d80d1d8, before the driver existed
(``python tests/unit/test_driver_bit_identity.py`` prints them). A changed hash means a
changed spike or a changed bit of some V_m, I_syn or population variable.
"""
import hashlib
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))

# every stimulator and recorder, every model, shared and per-neuron parameters, contiguous
# and listed Poisson targets, both signs, a multimeter on several variables
ALL_DEVICES_TOML = """
name = "all_devices"
[simulation]
dt_ms = 0.1

[[populations]]
name = "D"
model = "iaf_psc_delta"
n = 30
params = { V_m = { dist = "uniform", low = -70.0, high = -56.0 }, t_ref = 2.0 }

[[populations]]
name = "X1"
model = "iaf_psc_exp"
n = 25
params = { tau_syn_in = 1.0, V_m = -65.0 }

[[populations]]
name = "X2"
model = "iaf_psc_exp"
n = 20
params = { I_e = { dist = "normal", mean = 200.0, std = 80.0 }, tau_syn_in = 1.0 }

[[populations]]
name = "G"
model = "gif_psc_exp"
n = 20
params = { q_sfa = [5.0, 1.0], tau_sfa = [20.0, 200.0], q_stc = [10.0], tau_stc = [30.0], lambda_0 = 50.0, Delta_V = 1.0, V_T_star = -55.0 }

[[populations]]
name = "P"
model = "gif_pop_psc_exp"
n = 2
params = { N = 300, E_L = 0.0, V_T_star = 10.0, q_sfa = [1.0], tau_sfa = [100.0] }

[[projections]]
source = "D"
target = "X1"
rule = "fixed_indegree"
indegree = 8
weight = { dist = "normal", mean = 150.0, std = 30.0 }
delay_ms = { dist = "uniform", low = 0.5, high = 3.0 }

[[projections]]
source = "X1"
target = "D"
rule = "pairwise_bernoulli"
p = 0.2
weight = -1.5
delay_ms = 1.0

[[projections]]
source = "X2"
target = "G"
rule = "fixed_total_number"
n_total = 100
weight = 60.0
delay_ms = 0.7

[[projections]]
source = "P"
target = "X2"
rule = "all_to_all"
weight = 3.0
delay_ms = 1.5

[[projections]]
source = "G"
target = "P"
rule = "all_to_all"
weight = -20.0
delay_ms = 2.0

[[devices]]
type = "poisson_generator"
targets = ["D", "X1", "X2", "G"]
rate_Hz = 9000.0
weight = 0.6

[[devices]]
type = "poisson_generator"
targets = ["X1"]
neuron_ids = [0, 3, 4, 9, 17]
rate_Hz = 3000.0
weight = -80.0
start_ms = 10.0
stop_ms = 60.0
delay_ms = 0.5

[[devices]]
type = "poisson_generator"
targets = ["P"]
rate_Hz = 20000.0
weight = 40.0

[[devices]]
type = "dc_generator"
targets = ["D", "X2"]
amplitude_pA = 300.0
start_ms = 5.0
stop_ms = 70.0
delay_ms = 0.3

[[devices]]
type = "step_current_generator"
targets = ["X1", "G", "P"]
amplitude_times_ms = [10.0, 30.0, 55.0]
amplitude_values_pA = [250.0, -100.0, 400.0]

[[devices]]
type = "spike_generator"
targets = ["X1", "D"]
spike_times_ms = [2.0, 2.0, 7.5, 20.0, 40.1]
weight = 500.0
delay_ms = 1.0

[[devices]]
type = "spike_generator"
targets = ["G"]
spike_times_ms = [3.0, 15.0, 15.0, 50.0]
weight = -300.0

[[devices]]
type = "spike_recorder"
targets = ["D", "X1", "X2", "G", "P"]

[[devices]]
type = "voltmeter"
targets = ["D"]
neuron_ids = [0, 5, 7, 29]
interval_ms = 0.1

[[devices]]
type = "voltmeter"
targets = ["X1", "X2"]
n_per_population = 6
interval_ms = 0.3

[[devices]]
type = "voltmeter"
targets = ["G"]
interval_ms = 0.2

[[devices]]
type = "multimeter"
targets = ["P"]
interval_ms = 0.5
record_from = ["V_m", "n_events", "mean", "E_sfa", "I_syn_ex", "I_syn_in"]
"""


def _nets():
    from distsim.networks import build_builtin
    from distsim.spec.network import network_from_dict, parse_toml
    return {
        "brunel": (lambda: build_builtin("brunel", {"order": 50, "voltmeter": 5}), 200.0),
        "microcircuit": (lambda: build_builtin("microcircuit", {"N_scaling": 0.02, "voltmeter": 3,
                                                                "thalamic": True, "th_start": 50.0,
                                                                "dc_stimulus": True}), 150.0),
        "gif_meso": (lambda: build_builtin("gif_populations", {"form": "meso", "size": 50,
                                                               "t_step": 100.0}), 300.0),
        "gif_micro": (lambda: build_builtin("gif_populations", {"form": "micro", "size": 30,
                                                                "t_step": 100.0, "n_voltmeter": 5}), 200.0),
        "all_devices": (lambda: network_from_dict(parse_toml("all_devices.toml", ALL_DEVICES_TOML)), 80.0),
    }


def fingerprint(name, seed=7):
    """(SHA-256 hex digest, spike count, number of samples) of case ``name``'s spikes and traces."""
    from conftest import run_network
    build, t_ms = _nets()[name]
    sim, (g, s), samples = run_network(build(), t_ms, seed=seed)
    h = hashlib.sha256()
    order = np.lexsort((g, s))
    h.update(np.ascontiguousarray(g[order], np.int64).tobytes())
    h.update(np.ascontiguousarray(s[order], np.int64).tobytes())
    n_samples = 0
    for rep in sorted(samples):
        gids, stamps, vals = samples[rep]
        h.update(rep.encode())
        h.update(np.ascontiguousarray(gids, np.int64).tobytes())
        h.update(np.ascontiguousarray(stamps, np.int64).tobytes())
        h.update(np.ascontiguousarray(vals, np.float64).tobytes())
        n_samples += vals.size
    return h.hexdigest(), int(g.size), n_samples


# computed with the unmodified code of main (commit d80d1d8), before the model/driver refactor
REFERENCE = {
    'all_devices': ('a16d453790aa4c24b442c82be3ecb4cb7607c6c9aa22c25c916b1c0bef0c8beb', 7588, 16312),
    'brunel': ('4c418b1ba554d29292e54c6e53435c76161d1c1e8eb7d572d20722c31ff09bac', 2979, 20000),
    'gif_meso': ('07648d5ef88816d443efe58d0f43e03f92a8344b3e52dfc086a085947f8ecf06', 1350, 1200),
    'gif_micro': ('c1235b63688fac6050d237817ccc1b8e1593c99f340a848896b947a43e990bee', 530, 1000),
    'microcircuit': ('1a0d356b5d1ce44918932ae1d6b169e88463c98b704e926580922d43b3791251', 2140, 3600),
}


@pytest.mark.parametrize("name", sorted(_nets()))
def test_spikes_and_traces_bit_identical_to_baseline(name):
    digest, n_spikes, n_samples = fingerprint(name)
    ref = REFERENCE[name]
    assert n_spikes > 10 and n_samples > 100, "the case must spike and record"
    assert (digest, n_spikes, n_samples) == ref


if __name__ == "__main__":
    for k in sorted(_nets()):
        print(f"    {k!r}: {fingerprint(k)!r},")
