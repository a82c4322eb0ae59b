"""Checkpoint and resume with the conductance-based, AdEx and Hodgkin-Huxley models: bit-identical to an
uninterrupted run on any number of ranks, the integrator's step sizes included (NEST keeps
IntegrationStep_ per neuron across steps, and so must a resumed run)."""
import os

import h5py
import numpy as np
import pytest

from test_checkpoint import assert_same_output, distsim

NET = """
name = "cond_mix"
[simulation]
dt_ms = 0.1

[[populations]]
name = "E"
model = "iaf_cond_exp"
n = 40
params = { V_m = { dist = "uniform", low = -70.0, high = -55.0 } }

[[populations]]
name = "I"
model = "iaf_cond_alpha"
n = 12
params = { tau_syn_ex = 1.0, V_m = { dist = "uniform", low = -70.0, high = -55.0 } }

[[populations]]
name = "A"
model = "aeif_cond_exp"
n = 12
params = { t_ref = 1.0, I_e = 650.0, V_m = { dist = "uniform", low = -70.0, high = -55.0 } }

[[populations]]
name = "H"
model = "hh_psc_alpha"
n = 10
params = { t_ref = 3.0, I_e = { dist = "uniform", low = 400.0, high = 900.0 }, V_m = { dist = "uniform", low = -70.0, high = -60.0 } }

[[projections]]
source = "H"
target = "E"
rule = "fixed_indegree"
indegree = 2
weight = 1.0
delay_ms = 1.0

[[projections]]
source = "E"
target = "H"
rule = "fixed_indegree"
indegree = 8
weight = 40.0
delay_ms = 0.7

[[projections]]
source = "I"
target = "H"
rule = "all_to_all"
weight = -30.0
delay_ms = 1.1

[[projections]]
source = "E"
target = "E"
rule = "fixed_indegree"
indegree = 8
weight = 1.0
delay_ms = 1.0

[[projections]]
source = "E"
target = "I"
rule = "fixed_indegree"
indegree = 8
weight = 2.0
delay_ms = 0.5

[[projections]]
source = "I"
target = "E"
rule = "pairwise_bernoulli"
p = 0.5
weight = { dist = "normal", mean = -6.0, std = 1.0, max = 0.0 }
delay_ms = 0.8

[[projections]]
source = "A"
target = "E"
rule = "fixed_indegree"
indegree = 3
weight = 1.5
delay_ms = 1.5

[[projections]]
source = "I"
target = "A"
rule = "all_to_all"
weight = -3.0
delay_ms = 1.0

[[devices]]
type = "poisson_generator"
targets = ["E"]
rate_Hz = 2000.0
weight = 16.0

[[devices]]
type = "poisson_generator"
targets = ["I"]
rate_Hz = 1000.0
weight = 1.0

[[devices]]
type = "poisson_generator"
targets = ["A"]
rate_Hz = 2000.0
weight = 2.0

[[devices]]
type = "spike_recorder"
targets = ["E", "I", "A", "H"]

[[devices]]
type = "multimeter"
targets = ["H"]
interval_ms = 0.3
record_from = ["V_m", "I_syn_ex", "I_syn_in", "Act_m", "Inact_h", "Act_n"]

[[devices]]
type = "multimeter"
targets = ["E", "I"]
interval_ms = 0.5
record_from = ["V_m", "g_ex", "g_in"]
n_per_population = 4

[[devices]]
type = "multimeter"
targets = ["A"]
interval_ms = 1.0
record_from = ["V_m", "g_ex", "g_in", "w"]
"""


@pytest.fixture(scope="module")
def net_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("net") / "cond_mix.toml"
    path.write_text(NET)
    return str(path)


def args(net_file):
    return [net_file, "--seed", "3", "--t-presim", "30", "-q"]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, net_file):
    out = tmp_path_factory.mktemp("full") / "full.h5"
    p = distsim(args(net_file) + ["--t-sim", "200", "-o", str(out)])
    assert p.returncode == 0, p.stderr
    return out


@pytest.mark.parametrize("n_first,n_resume", [(1, 1), (2, 3)])
def test_cond_models_resume_exactly(tmp_path, net_file, full_run, n_first, n_resume):
    out = tmp_path / "part.h5"
    p = distsim(args(net_file) + ["--t-sim", "120", "-o", str(out), "--checkpoint-every", "130"], n=n_first)
    assert p.returncode == 0, p.stderr
    assert os.path.exists(str(out) + ".ckpt")
    with h5py.File(str(out) + ".ckpt", "r") as f:  # step sizes below dt: resuming needs them
        for pop in ("E", "A"):
            assert np.mean(f[f"state/{pop}/h"][...] < 0.1) > 0.1
        h = f["state/H/h"][...]  # hh_psc_alpha: step sizes off dt (above it at rest)
        assert np.mean(h != 0.1) > 0.5
    p = distsim(["--resume", str(out), "--t-sim", "200", "-q"], n=n_resume)
    assert p.returncode == 0, p.stderr
    assert_same_output(full_run, out)
