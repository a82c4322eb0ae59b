"""Under mpirun: networks driven by noise_generator and ac_generator give the same spikes and
traces as one rank, bit for bit (the noise of a target is keyed by (seed, device, gid, draw),
never by the rank; every rank runs the same ac oscillator)."""
import pytest

from distsim.spec import Device, Network, Population, Projection
from test_engine_mpi import _assert_same_as_serial

pytestmark = pytest.mark.timeout(300)


def _network():
    v0 = {"dist": "uniform", "low": -70.0, "high": -56.0}
    pops = [Population("E", "iaf_psc_exp", 37, {"V_m": v0}),
            Population("D", "iaf_psc_delta", 13, {"V_m": v0}),
            Population("C", "iaf_cond_exp", 11, {"V_m": v0})]
    projs = [Projection("E", "E", "fixed_indegree", weight=30.0, delay_ms=0.8, indegree=4),
             Projection("E", "D", "fixed_indegree", weight=0.5, delay_ms=1.0, indegree=4),
             Projection("D", "C", "all_to_all", weight=-3.0, delay_ms=0.6)]
    devs = [Device("noise_generator", ["E", "D", "C"], {"mean_pA": 300.0, "std_pA": 250.0, "dt_ms": 0.3,
                                                       "std_mod_pA": 100.0, "frequency_Hz": 20.0,
                                                       "start_ms": 3.0, "stop_ms": 140.0, "delay_ms": 0.2}),
            Device("noise_generator", ["E"], {"mean_pA": 0.0, "std_pA": 100.0}, neuron_ids=[0, 3, 4, 5, 20, 36]),
            Device("ac_generator", ["E", "C"], {"amplitude_pA": 150.0, "offset_pA": 50.0, "frequency_Hz": 25.0,
                                                "phase_deg": 60.0, "origin_ms": 10.0, "start_ms": 5.0}),
            Device("spike_recorder", ["E", "D", "C"]),
            Device("voltmeter", ["E", "D", "C"], {"interval_ms": 0.3}, n_per_population=5)]
    return Network(pops, projs, devs)


@pytest.mark.mpi(min_size=2)
def test_noise_and_ac_generators_bit_identical_to_one_rank():
    spikes = _assert_same_as_serial(_network, 150.0, seed=13)
    assert spikes[0].size > 100
