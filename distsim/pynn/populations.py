"""Population, PopulationView and Assembly of the distsim PyNN backend.

A PyNN Population is a distsim population (``distsim.api.Population``) of the celltype's
``distsim_model``; spike sources are ``parrot_neuron`` populations fed by spike or Poisson
generators (``create_spike_source`` / ``create_poisson_source``). Native (NEST-named)
parameters are kept in full per population (``_native``, the same on every rank) and
applied through the distsim API, which validates them as a parameter file would.
"""
import re

import numpy as np
from pyNN import common
from pyNN.parameters import ParameterSpace, Sequence, simplify
from pyNN.standardmodels import StandardCellType

from . import simulator
from .recording import Recorder


def _full(ps, size):
    """dict native name -> full numpy array (size,) of an evaluated ParameterSpace."""
    ps.shape = (size,)
    ps.evaluate(simplify=False)
    return {k: np.asarray(v) for k, v in ps.items()}


def _same(a):
    """The one value of ``a`` if every element equals it, else None."""
    if a.dtype == object or a.size == 0:
        return None
    return float(a[0]) if np.all(a == a[0]) else None


def _train(x):
    return np.asarray(x.value if isinstance(x, Sequence) else x, dtype=float)


def _set_everywhere(pop, parameters):
    """Population/PopulationView.set on every rank, whatever its own cells (PyNN's set does
    nothing on a rank without cells of the population and evaluates only the local values;
    distsim needs the same description on every rank)."""
    ct = pop.celltype
    standard = isinstance(ct, StandardCellType)
    if standard and ct.computed_parameters_include(parameters) and type(ct).__name__ != "SpikeSourceArray":
        ps = ct.reverse_translate(pop._get_native_parameters(*ct.get_native_names()))
        ps.update(**parameters)
    else:
        ps = ParameterSpace(parameters, ct.get_schema(), (pop.size,), ct.__class__)
    if standard:
        ps = ct.translate(ps)
    pop._set_parameters(ps)


class Assembly(common.Assembly):
    _simulator = simulator


class PopulationView(common.PopulationView):
    _assembly_class = Assembly
    _simulator = simulator

    def _get_parameters(self, *names):
        """This rank's cells' values (PyNN's get gathers them)."""
        idx = np.arange(self.parent.size)[self.mask][self._mask_local]
        return self.parent._parameters_of(idx, self.local_size, names)

    def _get_native_parameters(self, *names):
        return ParameterSpace({n: self.parent._native[n][self.mask] for n in names}, shape=(self.size,))

    def set(self, **parameters):
        _set_everywhere(self, parameters)

    def _set_parameters(self, parameter_space):
        values = _full(parameter_space, self.size)
        full = {}
        for name, v in values.items():
            a = self.parent._native[name].copy()
            a[self.mask] = v
            full[name] = a
        self.parent._apply_native(full)

    def _set_initial_value_array(self, variable, initial_values):
        v = np.broadcast_to(np.asarray(initial_values.evaluate(simplify=False), float), (self.size,))
        full = self.parent._initial.get(variable)
        full = np.full(self.parent.size, np.nan) if full is None else full.copy()
        full[self.mask] = v
        self.parent._initialize_full(variable, full)

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


class Population(common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def _create_cells(self):
        st = simulator.state
        net = st.network()
        ids = np.arange(st.id_counter, st.id_counter + self.size)
        self.all_cells = np.array([simulator.ID(i) for i in ids], dtype=simulator.ID)
        self._mask_local = ids % st.num_processes == st.mpi_rank
        for i in self.all_cells:
            i.parent = self
        st.id_counter += self.size
        ct = self.celltype
        if not hasattr(ct, "distsim_model"):
            raise NotImplementedError(f"{type(ct).__name__} is not available in distsim")
        self._native = _full(ct.native_parameters, self.size)
        self._initial = {}
        name = f"{len(st.populations)}_{re.sub(r'[^A-Za-z0-9_.-]', '_', str(self.label))}"
        st.populations.append(self)
        dt = st.dt
        if type(ct).__name__ == "SpikeSourceArray":
            # one step earlier into the parrots, which repeat them one step later
            # one generator per cell, so that set(spike_times=...) may later give each its own
            trains = [(_train(x) - dt).tolist() for x in self._native["spike_times"]]
            self._dpop = net.create_spike_source(name, trains)
        elif type(ct).__name__ == "SpikeSourcePoisson":
            kw = self._poisson_params(self._native)
            self._dpop = net.create_poisson_source(name, self.size, **kw)
        else:
            const = {k: _same(v) for k, v in self._native.items()}
            self._dpop = net.create(name, ct.distsim_model, self.size,
                                    **{k: v for k, v in const.items() if v is not None})
            arrays = {k: self._native[k] for k, v in const.items() if v is None}
            if arrays:
                self._dpop.set(**arrays)
        assert self._dpop.first_gid == ids[0]

    def _poisson_params(self, native):
        out = {}
        for k in ("rate_Hz", "start_ms", "stop_ms"):
            v = _same(native[k])
            if v is None:
                raise NotImplementedError(f"SpikeSourcePoisson in distsim: one {k} for the whole population")
            out[k] = v
        return out

    def _apply_native(self, values):
        """Set native parameters (full arrays) on the distsim population."""
        ct = self.celltype
        self._native.update({k: np.asarray(v) for k, v in values.items()})
        if type(ct).__name__ == "SpikeSourceArray":
            dt = simulator.state.dt
            self._dpop.set(spike_times=[(_train(x) - dt).tolist() for x in self._native["spike_times"]])
        elif type(ct).__name__ == "SpikeSourcePoisson":
            self._dpop.set(**self._poisson_params(self._native))
        else:
            self._dpop.set(**{k: (_same(v) if _same(v) is not None else v) for k, v in values.items()})

    def _parameters_of(self, mask, size, names):
        ct = self.celltype
        if any(n in ct.computed_parameters() for n in names):
            native_names = ct.get_native_names()
        else:
            native_names = ct.get_native_names(*names)
        d = {n: (simplify(self._native[n][mask]) if size else self._native[n][mask]) for n in native_names}
        return ct.reverse_translate(ParameterSpace(d, shape=(size,)))

    def _get_parameters(self, *names):
        """This rank's cells' values (PyNN's get gathers them)."""
        return self._parameters_of(self._mask_local, self.local_size, names)

    def _get_native_parameters(self, *names):
        return ParameterSpace({n: self._native[n] for n in names}, shape=(self.size,))

    def set(self, **parameters):
        _set_everywhere(self, parameters)

    def _set_parameters(self, parameter_space):
        self._apply_native(_full(parameter_space, self.size))

    def _set_initial_value_array(self, variable, initial_values):
        v = np.broadcast_to(np.asarray(initial_values.evaluate(simplify=False), float), (self.size,)).copy()
        self._initialize_full(variable, v)

    def _initialize_full(self, variable, values):
        """Initial values (PyNN units, full array) of ``variable`` on the distsim population."""
        ct = self.celltype
        if variable not in ct.variable_map:
            return  # spike sources have no state
        self._initial[variable] = values
        native = ct.variable_map[variable]
        scaled = values / ct.scale_factors[variable]
        one = _same(scaled)
        self._dpop.initialize(**{native: one if one is not None else scaled})

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)
