"""Under mpirun: spatial networks give the same spikes for any number of ranks.

Run as ``mpirun -n N python -m mpi4py -m pytest --with-mpi tests/mpi/test_spatial_mpi.py``
with N = 2 and 3. Each test compares the N-rank run with a 1-rank run of the same seed
computed in-process on rank 0 (SerialComm), bit for bit (helpers of test_engine_mpi).
"""
import pytest
from test_engine_mpi import _assert_same_as_serial

from distsim.networks.ring import ring
from distsim.spec import Device, Network, Population, Projection

pytestmark = pytest.mark.timeout(300)


@pytest.mark.mpi(min_size=2)
def test_ring_bit_identical_to_one_rank():
    """A small Senk et al. ring: boxcar fixed_indegree on a periodic 1-D grid, 4 E per position."""
    spikes = _assert_same_as_serial(lambda: ring(n_positions=100, K_E=80, K_I=20), 100.0, seed=3)
    assert spikes[0].size > 2000


@pytest.mark.mpi(min_size=2)
def test_free_2d_profiles_masks_distance_delays_bit_identical():
    """Random free positions on a torus, gaussian/exponential profiles, a rectangular mask and
    distance-dependent delays, delivered through the ranks' exchange."""
    def make():
        torus = {"kind": "free", "extent": [1.0, 1.0], "edge_wrap": True}
        pops = [Population("A", "iaf_psc_exp", 150, {"I_e": 300.0, "tau_syn_ex": 0.5, "tau_syn_in": 0.5},
                           positions=dict(torus)),
                Population("B", "iaf_psc_exp", 60, {"I_e": 250.0}, positions=dict(torus))]
        projs = [Projection("A", "B", "pairwise_bernoulli", weight=120.0, delay_ms={"d0": 0.3, "c": 3.0},
                            p={"profile": "gaussian", "std": 0.2, "p0": 0.8}),
                 Projection("B", "A", "fixed_indegree", weight=-200.0, delay_ms={"d0": 0.5, "c": 2.0}, indegree=8,
                            p={"profile": "exponential", "beta": 0.15},
                            mask={"kind": "rectangular", "lower_left": [-0.3, -0.2], "upper_right": [0.2, 0.3]}),
                 Projection("A", "A", "pairwise_bernoulli", weight=60.0, delay_ms=1.0, p=0.3,
                            mask={"kind": "circular", "radius": 0.25})]
        devs = [Device("poisson_generator", ["A", "B"], {"rate_Hz": 8000.0, "weight": 60.0}),
                Device("spike_recorder", ["A", "B"])]
        return Network(pops, projs, devs)
    spikes = _assert_same_as_serial(make, 150.0, seed=9)
    assert spikes[0].size > 500
