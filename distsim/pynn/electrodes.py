"""Current sources of the distsim PyNN backend: DCSource and StepCurrentSource as distsim's
dc_generator and step_current_generator (NEST's), converted as pyNN.nest does: amplitudes nA
-> pA, and the device sends one time step earlier with a delay of one step, so that the
current reaches the cell at the times given."""
import math

import numpy as np
from pyNN.parameters import ParameterSpace, Sequence
from pyNN.standardmodels import StandardCurrentSource, build_translations, electrodes

from .simulator import state

_NEVER = 1e10  # ms: a stop at or beyond this is "never"


class _DistsimCurrentSource(StandardCurrentSource):
    device = ""

    def __init__(self, **parameters):
        object.__setattr__(self, "_devices", [])
        object.__setattr__(self, "_native", {})
        self.parameter_space = ParameterSpace(self.default_parameters, self.get_schema(), shape=(1,))
        if parameters:
            self.parameter_space.update(**parameters)
        self.set_native_parameters(self.translate(self.parameter_space))

    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        for key, value in parameters.items():
            self._native[key] = value.value if isinstance(value, Sequence) else value
        params = self._device_params()
        for i in self._devices:
            state.network().set_device(i, **params)

    def get_native_parameters(self):
        return ParameterSpace({k: (Sequence(v) if isinstance(v, np.ndarray) else v) for k, v in self._native.items()},
                              shape=(1,))

    def inject_into(self, cells):
        """Inject into a Population, PopulationView, Assembly or list of IDs (one distsim
        device per population)."""
        groups = {}
        # every cell, not only the local ones (iterating a Population gives those): every
        # rank must add the same devices
        all_ids = cells.all_cells if hasattr(cells, "all_cells") else cells
        for i in all_ids:
            pop = i.parent
            if not pop.celltype.injectable:
                raise TypeError("Can't inject current into a spike source.")
            groups.setdefault(id(pop), (pop, []))[1].append(int(pop.id_to_index(i)))
        net = state.network()
        for pop, idx in groups.values():
            ids = sorted(set(idx))
            self._devices.append(net.add_device(self.device, pop._dpop,
                                                neuron_ids=None if len(ids) == pop.size else ids,
                                                **self._device_params()))

    def _shift(self, t):
        """A time given to PyNN -> the device's (one step earlier, at least 0)."""
        return max(float(t) - state.dt, 0.0)


class DCSource(_DistsimCurrentSource, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    translations = build_translations(("amplitude", "amplitude_pA", 1000.0), ("start", "start_ms"),
                                      ("stop", "stop_ms"))
    device = "dc_generator"

    def _device_params(self):
        n = self._native
        stop = n["stop_ms"]
        return {"amplitude_pA": float(n["amplitude_pA"]), "start_ms": self._shift(n["start_ms"]),
                "stop_ms": math.inf if stop >= _NEVER else self._shift(stop), "delay_ms": state.dt}


class StepCurrentSource(_DistsimCurrentSource, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__
    translations = build_translations(("amplitudes", "amplitude_values_pA", 1000.0), ("times", "amplitude_times_ms"))
    device = "step_current_generator"

    def _device_params(self):
        n = self._native
        times = np.asarray(n["amplitude_times_ms"], float)
        amps = np.asarray(n["amplitude_values_pA"], float)
        if times.size and (times.min() < 0 or np.any(np.diff(times) <= 0)):
            raise ValueError("Step current timestamps should be non-negative and increasing.")
        dt = state.dt
        first = state.t + dt  # the earliest time the device can still use (NEST's rule)
        steps = np.rint(np.maximum(times - dt, first) / dt).astype(np.int64)
        keep = np.r_[steps[1:] != steps[:-1], True] if steps.size else np.zeros(0, bool)  # last per step
        return {"amplitude_times_ms": (steps[keep] * dt).tolist(), "amplitude_values_pA": amps[keep].tolist(),
                "delay_ms": dt}
