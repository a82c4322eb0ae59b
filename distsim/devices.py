"""Device types, by NEST name: one class per device holds everything the rest of distsim
needs to know about it, beside its parameter declarations (``spec.network.DEVICE_PARAMS``):

- ``check(net, field, dv, dt)``: validation beyond the single parameters (raises SpecError);
- ``build(sim, di, dv, targets, ctx)``: what the engine sets up for it on this rank (Poisson
  blocks of the neuron groups, spike arrival steps, current schedules, recorders);
- ``meanfield(params)``: its stationary input for the mean-field theory: ``("poisson",
  rate_Hz, weight)``, ``("dc", amplitude_pA)`` or None (not stationary / no input).

A new device is one class here plus its ``DEVICE_PARAMS`` entry. This module imports no
numba (``spec`` uses it for validation); the engine's helpers are imported in ``build``.
"""
import math

from .spec.errors import SpecError


class Device:
    """Base: a device with no extra checks, nothing to build and no mean-field input."""

    name = ""
    stimulator = False

    def check(self, net, f, dv, dt):
        """Cross-parameter validation of device ``dv`` (field prefix ``f``); raises SpecError."""

    def build(self, sim, di, dv, targets, ctx):
        """Set the device up in ``sim`` (engine Simulation) on this rank. ``targets``: list of
        (group, local indices); ``ctx``: the build's shared tables (engine.simulation)."""

    def meanfield(self, p):
        """Stationary mean-field input of parameters ``p``, or None."""
        return None


class _Stimulator(Device):
    stimulator = True

    def check(self, net, f, dv, dt):
        """The activity window: origin, start, stop on NEST's grid, stop >= start."""
        from .spec.network import _check_window
        _check_window(f, dv.params, dt)

    @staticmethod
    def window(sim, p):
        """(t_min, t_max, delay) in steps of a stimulator (t_max may be inf)."""
        from .engine.simulation import _window_steps
        from .spec.nest_time import tics_per_step
        t_min, t_max = _window_steps(p, tics_per_step(sim.dt))
        return t_min, t_max, int(round(p["delay_ms"] / sim.dt))


class PoissonGenerator(_Stimulator):
    """poisson_generator: an independent Poisson train (rate_Hz) into each target."""

    name = "poisson_generator"

    def build(self, sim, di, dv, targets, ctx):
        """One Poisson block per target group: NEST draws in update steps e with t_min < e <=
        t_max; the draw reaches the target in its step e + d (drawn at arrival)."""
        from .kernels.poisson import cdf_table
        from .kernels.rng import TAG_POISSON, keys_per_gid
        p = dv.params
        t_min, t_max, d = self.window(sim, p)
        mean = p["rate_Hz"] * sim.dt * 1e-3
        if mean not in ctx.table_of:
            ctx.table_of[mean] = len(ctx.tables)
            ctx.tables.append(cdf_table(mean))
        start = max(t_min + 1, 0) + d
        stop = t_max + 1 + d if math.isfinite(t_max) else 2 ** 62
        for g, li in targets:
            keys = keys_per_gid(sim.seed, TAG_POISSON, di, li * sim.size + sim.rank)
            ctx.poisson[id(g)].append((li - g.lo, keys, ctx.table_of[mean], p["weight"], start, stop))

    def meanfield(self, p):
        """Poisson input at rate_Hz with weight, if it never stops."""
        return ("poisson", p["rate_Hz"], p["weight"]) if math.isinf(p["stop_ms"]) else None


class SpikeGenerator(_Stimulator):
    """spike_generator: the same spike train into every target."""

    name = "spike_generator"

    def check(self, net, f, dv, dt):
        """Window, and spike times as NEST takes them."""
        super().check(net, f, dv, dt)
        from .spec.nest_time import device_time_steps, spike_generator_stamps, tics_per_step
        p = dv.params
        spike_generator_stamps(f"{f}.spike_times_ms", p["spike_times_ms"], dt, tics_per_step(dt),
                               p["allow_offgrid_times"], p["shift_now_spikes"],
                               device_time_steps(p["origin_ms"], tics_per_step(dt)))

    def build(self, sim, di, dv, targets, ctx):
        """Arrival steps of its spikes, injected into the input rows slice by slice."""
        from .engine.simulation import _spike_arrivals
        from .spec.nest_time import tics_per_step
        p = dv.params
        t_min, t_max, d = self.window(sim, p)
        sim.dev_max_delay = max(sim.dev_max_delay, d)
        sim.spike_gens.append((_spike_arrivals(p, sim.dt, tics_per_step(sim.dt), t_min, t_max, d),
                               float(p["weight"]), ctx.indices(targets)))


class _CurrentGenerator(_Stimulator):
    def build(self, sim, di, dv, targets, ctx):
        """Its current schedule (change steps, amplitudes) in the current-input rows."""
        from .engine.simulation import _current_schedule
        from .spec.nest_time import tics_per_step
        t_min, t_max, d = self.window(sim, dv.params)
        sim.current_devs.append(_current_schedule(self.name, dv.params, sim.dt, tics_per_step(sim.dt),
                                                  t_min, t_max, d) + (ctx.indices(targets),))


class DcGenerator(_CurrentGenerator):
    """dc_generator: a constant current (amplitude_pA) within its window."""

    name = "dc_generator"

    def meanfield(self, p):
        """DC input of amplitude_pA, if it never stops."""
        return ("dc", p["amplitude_pA"]) if math.isinf(p["stop_ms"]) else None


class StepCurrentGenerator(_CurrentGenerator):
    """step_current_generator: piecewise constant current."""

    name = "step_current_generator"

    def check(self, net, f, dv, dt):
        """Window, amplitude times as NEST takes them, one value per time."""
        super().check(net, f, dv, dt)
        from .spec.nest_time import step_current_stamps, tics_per_step
        p = dv.params
        times, vals = p["amplitude_times_ms"], p["amplitude_values_pA"]
        step_current_stamps(f"{f}.amplitude_times_ms", times, dt, tics_per_step(dt),
                            p["allow_offgrid_times"])
        if len(vals) != len(times):
            raise SpecError(f"{f}.amplitude_values_pA", vals,
                            f"must be a list of {len(times)} numbers (pA), one per amplitude_times_ms")

    def meanfield(self, p):
        """DC input of its last amplitude, if that is not 0."""
        last = p["amplitude_values_pA"][-1] if p["amplitude_values_pA"] else 0.0
        return ("dc", last) if last != 0.0 else None


def _sending_window(sim, p):
    """(lo, hi, delay) in steps of a current generator: it sends in steps lo <= e < hi (hi
    may be 2**62, never; hi = lo when it never sends) what its targets read in row e + delay."""
    from .engine.simulation import _FAR
    t_min, t_max, d = _Stimulator.window(sim, p)
    lo = max(0, t_min - 1)
    hi = t_max - 1 if math.isfinite(t_max) else _FAR
    return lo, max(lo, hi), d


class AcGenerator(_Stimulator):
    """ac_generator: offset_pA + amplitude_pA sin(2 pi frequency_Hz t + phase_deg), t the end
    of the sending step (NEST's oscillator; kernels.currents)."""

    name = "ac_generator"

    def build(self, sim, di, dv, targets, ctx):
        """One ac_rows kernel call per slice for all its local targets."""
        import numpy as np

        from .kernels.currents import AcArgs, ac_matrix, ac_rows
        from .spec.nest_time import TICS_PER_MS, tics_per_step
        p, idx = dv.params, ctx.indices(targets)
        win = _sending_window(sim, p)  # registered on every rank: the current rows exist on all
        h = tics_per_step(sim.dt) * (1 / TICS_PER_MS)  # NEST's resolution in ms, bit for bit
        m = ac_matrix(p["amplitude_pA"], p["frequency_Hz"], p["phase_deg"], h)
        sim.current_kernels.append((ac_rows, AcArgs(idx, win[2], win[0], win[1], p["offset_pA"], *m,
                                                    np.array(m[4:]), np.zeros(1, np.int64))))

    def meanfield(self, p):
        """DC input when the current is constant (amplitude 0 or frequency 0) and never stops;
        None while it oscillates (a sinusoidal drive has no stationary rate)."""
        if not math.isinf(p["stop_ms"]):
            return None
        if p["amplitude_pA"] == 0.0 or p["frequency_Hz"] == 0.0:
            return ("dc", p["offset_pA"] + p["amplitude_pA"] * math.sin(p["phase_deg"] * 2.0 * math.pi / 360.0))
        return None


class NoiseGenerator(_Stimulator):
    """noise_generator: per target a new current mean_pA + sigma N(0, 1) every dt_ms, held in
    between (sigma^2 = std_pA^2 + std_mod_pA^2 sin(2 pi frequency_Hz t + phase_deg));
    normals from the stream of (seed, device, target gid) (kernels.currents)."""

    name = "noise_generator"

    def check(self, net, f, dv, dt):
        """Window, and std_mod_pA <= std_pA (NEST)."""
        super().check(net, f, dv, dt)
        p = dv.params
        if p["std_mod_pA"] > p["std_pA"]:
            raise SpecError(f"{f}.std_mod_pA", p["std_mod_pA"],
                            f"must be <= std_pA ({p['std_pA']}): the modulated variance std^2 + "
                            "std_mod^2 sin(...) must not become negative (NEST)")

    def build(self, sim, di, dv, targets, ctx):
        """One noise_rows kernel call per slice for all its local targets, each with its
        stream keyed by (seed, device index, gid)."""
        import numpy as np

        from .kernels.currents import NoiseArgs, noise_rows
        from .kernels.rng import TAG_NOISE, keys_per_gid
        from .spec.nest_time import device_time_steps, tics_per_step
        p, idx = dv.params, ctx.indices(targets)
        win = _sending_window(sim, p)  # registered on every rank: the current rows exist on all
        keys = keys_per_gid(sim.seed, TAG_NOISE, di, idx * sim.size + sim.rank)
        dt_steps = int(device_time_steps(p["dt_ms"], tics_per_step(sim.dt)))
        omega_h = 2.0 * math.pi * p["frequency_Hz"] / 1000.0 * sim.dt
        sim.current_kernels.append((noise_rows, NoiseArgs(
            idx, keys, np.zeros(idx.size), win[2], win[0], win[1], dt_steps, p["mean_pA"], p["std_pA"],
            p["std_mod_pA"], omega_h, p["phase_deg"] * 2.0 * math.pi / 360.0)))

    def meanfield(self, p):
        """DC input of mean_pA when std_pA is 0 and it never stops; None when it stops.
        Raises SpecError for std_pA > 0: the mean-field has no input for a current's variance
        (taking only the mean would give wrong rates without a word)."""
        if not math.isinf(p["stop_ms"]):
            return None
        if p["std_pA"] != 0.0:
            raise SpecError("noise_generator.std_pA", p["std_pA"],
                            "the mean-field has no input for a noise current's variance; "
                            "only std_pA = 0 (a DC of mean_pA) is supported")
        return ("dc", p["mean_pA"])


class SpikeRecorder(Device):
    """spike_recorder: records the spikes of its targets."""

    name = "spike_recorder"

    def build(self, sim, di, dv, targets, ctx):
        """Marks its local targets in the engine's spike-recording mask."""
        sim.spike_rec_mask[ctx.indices(targets)] = True
        sim.spike_recorders.append(dv)


class Voltmeter(Device):
    """voltmeter: samples state variables (V_m by default) every interval_ms."""

    name = "voltmeter"

    def check(self, net, f, dv, dt):
        """Every variable of record_from is recordable in every target's model."""
        from .models import MODELS
        for t in dv.targets:
            allowed = MODELS[net.population(t).model].recordables
            bad = [v for v in dv.params["record_from"] if v not in allowed]
            if bad:
                raise SpecError(f"{f}.record_from", bad[0],
                                f"not recordable in {t} ({net.population(t).model}); allowed: "
                                f"{', '.join(allowed)}")

    def build(self, sim, di, dv, targets, ctx):
        """One recorder request per group (blocks are split by voltmeter)."""
        import numpy as np
        p = dv.params
        interval = int(round(p["interval_ms"] / sim.dt))
        per_group = {}
        for g, gi in targets:
            per_group.setdefault(id(g), (g, []))[1].append(gi)
        for g, parts in per_group.values():
            g.rec = (np.ascontiguousarray(np.concatenate(parts)), interval, di)
        for g in sim.groups:  # blocks with this voltmeter but no recorded neuron here
            if g.rec is None and any(pop.name in dv.targets for pop in g.pops):
                g.rec = (np.empty(0, np.int64), interval, di)
        for g in sim.groups:
            if g.rec is not None and g.rec[2] == di:
                g.rec_vars = tuple(p["record_from"])
                g.rec_codes = np.array([g.model.recordable_codes[v] for v in g.rec_vars], np.int64)


class Multimeter(Voltmeter):
    """multimeter: a voltmeter with record_from (NEST keeps both names)."""

    name = "multimeter"


DEVICES = {d.name: d() for d in (PoissonGenerator, DcGenerator, StepCurrentGenerator, SpikeGenerator,
                                 AcGenerator, NoiseGenerator, SpikeRecorder, Voltmeter, Multimeter)}

from .spec.network import DEVICE_TYPES  # noqa: E402  (spec imports this module lazily)

assert set(DEVICES) == set(DEVICE_TYPES), "every device type has a class here"
