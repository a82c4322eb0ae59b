"""The simulator state of the distsim PyNN backend (as ``pyNN.nest.simulator``): one
:class:`distsim.Network` per ``setup()``, built at the first run.

PyNN's ids are distsim's gids (populations are created in the same order in both), so a
cell is local where distsim places it: ``gid % num_processes == rank``.
"""
from pyNN import common

import distsim

name = "distsim"  # for annotating output data


class ID(int, common.IDMixin):
    """A cell id (distsim gid)."""

    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)

    def set_parameters(self, **parameters):
        """Set this cell's parameters, on every rank (PyNN refuses a cell of another rank;
        every rank must describe the same network)."""
        self.as_view().set(**parameters)

    def get_parameters(self):
        """This cell's parameters (on every rank)."""
        names = self.celltype.get_parameter_names()
        return dict(zip(names, self.as_view().get(names)))


class State(common.control.BaseState):
    """What ``setup`` creates: the distsim Network, time step, delays, MPI rank and size."""

    def __init__(self):
        common.control.BaseState.__init__(self)
        from distsim.comm import get_comm
        self.comm = get_comm()
        self.mpi_rank, self.num_processes = self.comm.rank, self.comm.size
        self.dt = 0.1
        self.min_delay = 0.1
        self.max_delay = 10.0
        self.seed = 12345
        self.net = None
        self.clear()

    def clear(self):
        """Forget the network (``setup`` again)."""
        self.recorders = set()
        self.populations = []
        self.id_counter = 0
        self.segment_counter = -1
        self.net = None
        self.write_on_end = []
        self.reset()

    def network(self):
        """The distsim Network of this ``setup`` (created on first use)."""
        if self.net is None:
            self.net = distsim.Network(dt_ms=self.dt, seed=self.seed, comm=self.comm)
        return self.net

    @property
    def t(self):
        """Simulated time (ms)."""
        return self.net.t if self.net is not None and self.net.sim is not None else 0.0

    def run_until(self, tstop):
        """Simulate up to ``tstop`` ms (rounded to the step: PyNN adds times as floats)."""
        net = self.network()
        sim = net.build()
        if sim.step == 0:
            for r in self.recorders:
                r._capture_initial()
        sim.run_until(int(round(tstop / self.dt)))
        self.running = True

    def reset(self):
        """Back to t = 0 (distsim.Network.reset), a new segment for recorded data."""
        self.running = False
        self.t_start = 0
        self.segment_counter += 1
        if self.net is not None and self.net.sim is not None:
            self.net.reset()


state = State()
