"""NEST's time grid, reproduced exactly: which device times NEST accepts and the steps they map to.

NEST keeps times as integer *tics* (1 tic = 1 us by default, ``tics_per_ms = 1000``); a time
in ms becomes ``static_cast<tic_t>(t * tics_per_ms + 0.5)`` (``Time::ms``, truncation toward
zero) and is on the grid when its tics are a multiple of the tics per step. So a spike time
within half a tic of a grid point (2.9999 ms at dt = 0.1 ms) *is* that grid point, while
2.9994 ms is not on the grid. ``Time::ms_stamp`` (used with ``allow_offgrid_times``) rounds up
to the end of the step a time lies in. Source: nestkernel/nest_time.{h,cpp}, NEST 3.10
(commit acca9704da248750219a027db99fec6cd1f9052a).

Device activity windows (nestkernel/stimulation_device.cpp, device.cpp): with
``t_min = steps(origin + start)`` and ``t_max = steps(origin + stop)``, a spike generator
emits a spike of stamp ``S`` iff ``t_min < S <= t_max``; a poisson_generator draws in update
step ``e`` (its spikes carry stamp ``e + 1``) iff ``t_min < e <= t_max``; a current generator
sends in step ``e`` iff ``t_min < e + 2 <= t_max``. Every update step is ``e >= 0`` and a spike
generator's stamps must be ``>= 1``.
"""
import math

TICS_PER_MS = 1000.0  # NEST's default tic: 1 us
_TIC_T_MAX = 2 ** 63 - 1
_INF_MARGIN = 8
POS_INF_TICS = _TIC_T_MAX // _INF_MARGIN + 1  # Time::LIM_POS_INF.tics
NEG_INF_TICS = -(_TIC_T_MAX // _INF_MARGIN) - 1  # Time::LIM_NEG_INF.tics


def _cpp_rem(a, b):
    """C++ ``a % b`` for integers (the sign follows ``a``)."""
    r = abs(a) % b
    return r if a >= 0 else -r


def tics_per_step(dt_ms):
    """Tics per step of resolution ``dt_ms``, or None when NEST refuses that resolution
    (smaller than one tic, or not a multiple of the tic: numerics.cpp ``is_integer``)."""
    ms_per_tic = 1.0 / TICS_PER_MS
    if not dt_ms >= ms_per_tic:
        return None
    n = dt_ms / ms_per_tic
    frac = math.modf(n)[0]
    if frac > 0.5:
        frac = 1.0 - frac
    if not frac < 4 * n * 2.220446049250313e-16:
        return None
    return int(math.floor(TICS_PER_MS * dt_ms + 0.5))


def _lim_max_ms(tps):
    """Time::LIM_MAX.ms: largest finite time (ms) at this resolution."""
    tics = _TIC_T_MAX // _INF_MARGIN
    tics -= tics % tps
    steps = int(tics * (1.0 / tps))
    return steps * (tps / TICS_PER_MS)


def ms_to_tics(t, tps):
    """Tics of ``Time::ms(t)``: rounded to the nearest tic (half up, then truncated toward
    zero as C++ does); beyond the representable range (or NaN) the infinite tic values."""
    if abs(t) < _lim_max_ms(tps):
        return int(t * TICS_PER_MS + 0.5)
    return NEG_INF_TICS if t < 0 else POS_INF_TICS


def ms_stamp_tics(t, tps):
    """Tics of ``Time::ms_stamp(t)``: the end of the step in which ``t`` (ms) lies."""
    lim = _lim_max_ms(tps)
    if t > lim:
        return POS_INF_TICS
    if t < -lim:
        return NEG_INF_TICS
    n = int(t * TICS_PER_MS)
    n -= _cpp_rem(n, tps)
    if n * (1.0 / tps) * (tps / TICS_PER_MS) < t:
        n += tps
    return n


def tics_to_steps(tics, tps):
    """Steps of a grid time in tics; +-inf for the infinite tic values."""
    if tics >= POS_INF_TICS:
        return math.inf
    if tics <= NEG_INF_TICS:
        return -math.inf
    return tics // tps


def device_time_steps(t, tps):
    """Steps of a device's origin/start/stop ``t`` (ms) as NEST's Device::Parameters_::set
    takes it: ``math.inf`` for an infinite one, None when it is finite and off the grid
    (NEST: "must be a multiple of the simulation resolution")."""
    tics = ms_to_tics(t, tps)
    if NEG_INF_TICS < tics < POS_INF_TICS and tics % tps != 0:
        return None
    return tics_to_steps(tics, tps)


def _number(field, t):
    from .errors import SpecError
    if isinstance(t, bool) or not isinstance(t, (int, float)) or math.isnan(t):
        raise SpecError(field, t, "times must be numbers (ms)")
    return float(t)


def _offgrid_msg(dt_ms):
    return (f"times must be multiples of dt_ms = {dt_ms} within NEST's tolerance of half a tic "
            f"({0.5 / TICS_PER_MS} ms); set allow_offgrid_times = true to move it to the end of "
            "its step")


def spike_generator_stamps(field, times, dt_ms, tps, allow_offgrid_times=False,
                           shift_now_spikes=False, origin_steps=0):
    """Stamps (steps, relative to origin; +-inf beyond NEST's range) of a spike_generator's
    ``spike_times`` (ms), exactly as NEST 3.10 takes them with ``precise_times = false``
    (models/spike_generator.cpp, ``assert_valid_spike_time_and_insert_``): a time within half a
    tic of the grid goes to that grid point; other times are refused, or with
    ``allow_offgrid_times`` moved to the end of their step; a time of exactly 0 is refused
    unless ``shift_now_spikes``, which moves a spike at origin + t == 0 (the time "now" before
    the first step) to the first step; times must be non-descending (compared as given).
    Raises SpecError naming the element. NaN is refused (NEST would take it as +inf)."""
    from .errors import SpecError
    if isinstance(times, (str, bytes)) or not isinstance(times, (list, tuple)):
        raise SpecError(field, times, "must be a list of times in ms")
    out = []
    for i, t in enumerate(times):
        f = f"{field}[{i}]"
        t = _number(f, t)
        if i > 0 and float(times[i - 1]) > t:
            raise SpecError(f, t, f"spike times must be sorted in non-descending order "
                                  f"(the time before is {times[i - 1]})")
        if t == 0.0 and not shift_now_spikes:
            raise SpecError(f, t, "a spike time cannot be 0 ms (NEST); set shift_now_spikes = true "
                                  f"to move it to the first step ({dt_ms} ms)")
        tics = ms_to_tics(t, tps)
        if tics % tps != 0:
            if not allow_offgrid_times:
                raise SpecError(f, t, _offgrid_msg(dt_ms))
            tics = ms_stamp_tics(t, tps)
        if shift_now_spikes and origin_steps * tps + tics == 0:
            tics += tps
        out.append(tics_to_steps(tics, tps))
    return out


def step_current_stamps(field, times, dt_ms, tps, allow_offgrid_times=False):
    """Stamps (steps, absolute: NEST does not shift them by origin) of a
    step_current_generator's ``amplitude_times`` (ms), exactly as NEST 3.10 takes them
    (models/step_current_generator.cpp, ``validate_time_``): times must be > 0, on the grid
    within half a tic (or, with ``allow_offgrid_times``, moved to the end of their step), and
    fall on strictly increasing steps. Raises SpecError naming the element."""
    from .errors import SpecError
    if isinstance(times, (str, bytes)) or not isinstance(times, (list, tuple)):
        raise SpecError(field, times, "must be a list of times in ms")
    out, prev = [], 0
    for i, t in enumerate(times):
        f = f"{field}[{i}]"
        t = _number(f, t)
        if t <= 0.0:
            raise SpecError(f, t, "amplitude times must be > 0 ms (NEST)")
        tics = ms_to_tics(t, tps)
        if tics % tps != 0:
            if not allow_offgrid_times:
                raise SpecError(f, t, _offgrid_msg(dt_ms))
            tics = ms_stamp_tics(t, tps)
        if tics <= prev:
            raise SpecError(f, t, "amplitude times must fall on strictly increasing steps (NEST)")
        prev = tics
        out.append(tics_to_steps(tics, tps))
    return out
