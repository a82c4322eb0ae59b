"""Under mpirun: a neuron whose V_m becomes NaN on one rank stops every rank after the same
slice with the same NonFiniteState (no hang, no abort), on the Python slice path and in the
compiled loop, naming what a serial run names.

Run as ``mpirun -n N python -m mpi4py -m pytest --with-mpi tests/mpi`` with N >= 2.
"""
import numpy as np
import pytest

from distsim.comm import SerialComm, get_comm
from distsim.engine import NonFiniteState, Simulation
from distsim.recording import MemoryRecorder
from distsim.spec import Device, Network, Population, Projection

pytestmark = pytest.mark.timeout(300)


def _net():
    """hh_psc_alpha neurons A (gids 0-5) and iaf_psc_alpha B, connected both ways."""
    return Network([Population("A", "hh_psc_alpha", 6, {"I_e": 500.0}),
                    Population("B", "iaf_psc_alpha", 4, {"I_e": 400.0})],
                   [Projection("A", "B", "all_to_all", weight=10.0, delay_ms=0.5),
                    Projection("B", "A", "all_to_all", weight=10.0, delay_ms=0.5)],
                   [Device("voltmeter", ["A"], {"interval_ms": 0.1}),
                    Device("spike_recorder", ["A", "B"])])


def _run(comm, loop, gid):
    """(info without the NaN value, step, spikes) of a run in which neuron ``gid`` of A is set
    to V_m = -40 mV (0/0 in alpha_m: NaN) after 5 ms."""
    rec = MemoryRecorder()
    sim = Simulation(_net(), seed=3, comm=comm, recorder=rec, loop=loop)
    sim.run(5.0)
    v = np.full(6, -65.0)
    v[gid] = -40.0
    sim.set_state("A", "V_m", v)
    with pytest.raises(NonFiniteState) as e:
        sim.run(20.0)
    info = dict(e.value.info)
    assert np.isnan(info.pop("value"))
    g, s = rec.gather_spikes(comm)
    return info, sim.step, g.tolist(), s.tolist()


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("loop", ["python", "compiled"])
def test_nan_on_one_rank_stops_every_rank_with_the_same_error(loop):
    comm = get_comm()
    gid = comm.size + 1  # on rank 1 only
    ref = comm.bcast(_run(SerialComm(), loop, gid) if comm.rank == 0 else None)
    info, step, g, s = _run(comm, loop, gid)
    assert info["rank"] == 1 and info["gid"] == gid and info["population"] == "A"
    ref[0]["rank"] = 1
    assert (info, step, g, s) == tuple(ref)
    assert step == 55 and len(g) > 0  # the slice (5, 5.5] ms
