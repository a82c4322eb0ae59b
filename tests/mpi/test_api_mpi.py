"""The in-process API under mpirun (issue 17): each scenario on N ranks gathers exactly what a
1-rank run of the same script gives (computed in-process on rank 0 with SerialComm), so
1, 2 and 3 ranks give identical results. The PyNN MPI cases: fewer neurons than ranks,
recording a spike source population, gathered spike trains in gid order, set between runs."""
import numpy as np
import pytest

from api_scenarios import (assert_same, reset_then_run, run_once, run_twice, set_between_runs, small_net,
                           tiny_populations)
from distsim.comm import SerialComm, get_comm

pytestmark = [pytest.mark.timeout(300), pytest.mark.max_ranks(3)]


def _same_as_serial(scenario):
    comm = get_comm()
    mine = scenario(comm)
    ref = scenario(SerialComm()) if comm.rank == 0 else None
    ref = comm.bcast(ref)
    assert_same(mine, ref)
    return mine


@pytest.mark.mpi(min_size=1)
def test_run_twice_equals_run_once_on_any_ranks():
    a = _same_as_serial(run_twice)
    assert_same(a, run_once(get_comm()))
    assert a["gids"].size > 50


@pytest.mark.mpi(min_size=1)
def test_set_between_runs_on_any_ranks():
    a = _same_as_serial(lambda c: set_between_runs(c)[0])
    assert not np.array_equal(a["gids"], run_once(get_comm())["gids"])


@pytest.mark.mpi(min_size=1)
def test_set_distribution_and_array_same_values_on_any_ranks():
    def scenario(comm):
        net, E, _, _ = small_net(comm)
        net.build()
        E.set(V_th={"dist": "normal", "mean": -55.0, "std": 0.5, "min": -60.0}, I_e=np.arange(E.size, dtype=float) * 10.0)
        E.initialize(V_m={"dist": "uniform", "low": -70.0, "high": -60.0})
        net.run(20.0)
        r = {"V_th": E.get("V_th"), "I_e": E.get("I_e"), "V_m": E.get("V_m"), "gids": net.get_spikes()[0]}
        net.reset()
        r["V_m0"] = E.get("V_m")
        return r
    _same_as_serial(scenario)


@pytest.mark.mpi(min_size=1)
def test_reset_on_any_ranks_equals_a_fresh_network():
    a = _same_as_serial(reset_then_run)
    assert_same(a, run_once(get_comm()))


@pytest.mark.mpi(min_size=1)
def test_fewer_neurons_than_ranks():
    r = _same_as_serial(tiny_populations)
    assert r["gids"].size > 3


@pytest.mark.mpi(min_size=1)
def test_spike_source_recorded_and_trains_in_gid_order():
    comm = get_comm()
    net, E, I, S = small_net(comm)
    net.run(40.0)
    trains = S.spiketrains()
    assert [len(t) for t in trains] == [2, 1, 2]
    assert np.allclose([t[0] for t in trains], [5.1, 12.4, 12.4])
    g, t = net.get_spikes()
    assert np.all(np.diff(g) >= 0) and np.all(np.diff(t)[g[1:] == g[:-1]] >= 0)
    etrains = E.spiketrains()
    ids, tt = E.get_spikes()
    for i, tr in enumerate(etrains):
        assert np.array_equal(tr, tt[ids == i])
    # to rank 0 only: the same arrays there, None elsewhere
    root = net.get_spikes(gather=0)
    if comm.rank == 0:
        assert np.array_equal(root[0], g) and np.array_equal(root[1], t)
    else:
        assert root is None
    # this rank's own: exactly its neurons' spikes
    lg, lt = net.get_spikes(gather=None)
    assert np.all(lg % comm.size == comm.rank)
    assert np.array_equal(lg, g[g % comm.size == comm.rank])


@pytest.mark.mpi(min_size=1)
def test_spike_times_set_between_runs_on_any_ranks():
    from api_scenarios import sources_changed
    r = _same_as_serial(sources_changed)
    assert r["trains_P"].size > 100


@pytest.mark.mpi(min_size=2)
def test_a_network_that_differs_between_ranks_is_refused_on_every_rank():
    """E.g. a PyNN script that injects a current into each cell of ``for cell in population``
    (this rank's cells only): every rank raises the same SpecError at the build."""
    import distsim
    from distsim.spec import SpecError
    comm = get_comm()
    net = distsim.Network(dt_ms=0.1, seed=1, comm=comm)
    E = net.create("E", "iaf_psc_exp", 4)
    if comm.rank == 1:
        net.add_device("dc_generator", E, amplitude_pA=100.0)
    with pytest.raises(SpecError, match=r"differs between ranks \(rank 0 and rank\(s\) \[1\]\)"):
        net.run(1.0)
