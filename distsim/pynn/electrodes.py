"""Current sources of the distsim PyNN backend: DCSource, StepCurrentSource, ACSource and
NoisyCurrentSource as distsim's dc_generator, step_current_generator, ac_generator and
noise_generator (NEST's), converted as pyNN.nest does: amplitudes nA -> pA, and the device
sends one step (AC, noise: one min_delay, as pyNN.nest) earlier with that delay, so that the
current reaches the cell at the times given; an ACSource's phase is the phase at its start
(pyNN.nest's correction, PyNN issue 497). The noise is distsim's (its own random stream:
the same statistics as NEST's, not NEST's numbers)."""
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
        self._normalize()
        params = self._device_params()
        for i in self._devices:
            state.network().set_device(i, **params)

    def _normalize(self):
        """Check and normalise the native parameters just set (nothing by default)."""

    def get_native_parameters(self):
        # list parameters as arrays (as pyNN.nest returns them): source.times[0] is a number
        return ParameterSpace({k: (np.array(v, float) if isinstance(v, (np.ndarray, list)) else v)
                               for k, v in self._native.items()})

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

    def _shift(self, t, by=None):
        """A time given to PyNN -> the device's (one step, or ``by`` ms, earlier, at least 0)."""
        return max(float(t) - (state.dt if by is None else by), 0.0)


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


class ACSource(_DistsimCurrentSource, electrodes.ACSource):
    __doc__ = electrodes.ACSource.__doc__
    translations = build_translations(("amplitude", "amplitude_pA", 1000.0), ("start", "start_ms"),
                                      ("stop", "stop_ms"), ("frequency", "frequency_Hz"),
                                      ("offset", "offset_pA", 1000.0), ("phase", "phase_deg"))
    device = "ac_generator"

    def _device_params(self):
        n = self._native
        d = state.min_delay
        stop = n["stop_ms"]
        f, start = float(n["frequency_Hz"]), float(n["start_ms"])
        # the device's phase at its own time origin such that the current reaching the cell
        # at ``start`` (sent at start - d) has the phase given (as pyNN.nest)
        phase = float(n["phase_deg"]) - 360.0 * f * start / 1000.0
        return {"amplitude_pA": float(n["amplitude_pA"]), "offset_pA": float(n["offset_pA"]),
                "frequency_Hz": f, "phase_deg": phase, "start_ms": self._shift(start, d),
                "stop_ms": math.inf if stop >= _NEVER else self._shift(stop, d), "delay_ms": d}


class NoisyCurrentSource(_DistsimCurrentSource, electrodes.NoisyCurrentSource):
    __doc__ = electrodes.NoisyCurrentSource.__doc__
    translations = build_translations(("mean", "mean_pA", 1000.0), ("start", "start_ms"), ("stop", "stop_ms"),
                                      ("stdev", "std_pA", 1000.0), ("dt", "dt_ms"))
    device = "noise_generator"

    def _device_params(self):
        n = self._native
        d = state.min_delay
        stop = n["stop_ms"]
        return {"mean_pA": float(n["mean_pA"]), "std_pA": float(n["std_pA"]), "dt_ms": float(n["dt_ms"]),
                "start_ms": self._shift(n["start_ms"], d),
                "stop_ms": math.inf if stop >= _NEVER else self._shift(stop, d), "delay_ms": d}


class StepCurrentSource(_DistsimCurrentSource, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__
    translations = build_translations(("amplitudes", "amplitude_values_pA", 1000.0), ("times", "amplitude_times_ms"))
    device = "step_current_generator"

    def _normalize(self):
        """Times checked (>= 0, increasing) and put on the time grid; of several times in one
        step the last one's amplitude is kept (as pyNN.nest, without its min_delay shift)."""
        n = self._native
        times = np.asarray(n["amplitude_times_ms"], float)
        amps = np.asarray(n["amplitude_values_pA"], float)
        if times.size and times.min() < 0:
            raise ValueError("Step current cannot accept negative timestamps.")
        if times.size > 1 and np.any(np.diff(times) <= 0):
            raise ValueError("Step current timestamps should be monotonically increasing.")
        dt = state.dt
        # rounded after the one-step shift, as pyNN.nest rounds (t - min_delay): 8.05 ms -> 8.1
        steps = np.rint((times - dt) / dt).astype(np.int64) + 1
        keep = np.r_[steps[1:] != steps[:-1], True] if steps.size else np.zeros(0, bool)
        n["amplitude_times_ms"] = steps[keep] * dt
        n["amplitude_values_pA"] = amps[keep]

    def _device_params(self):
        n = self._native
        times = np.asarray(n["amplitude_times_ms"], float)
        amps = np.asarray(n["amplitude_values_pA"], float)
        dt = state.dt
        first = state.t + dt  # the earliest time the device can still use (NEST's rule)
        steps = np.rint(np.maximum(times - dt, first) / dt).astype(np.int64)
        keep = np.r_[steps[1:] != steps[:-1], True] if steps.size else np.zeros(0, bool)  # last per step
        return {"amplitude_times_ms": (steps[keep] * dt).tolist(), "amplitude_values_pA": amps[keep].tolist(),
                "delay_ms": dt}
