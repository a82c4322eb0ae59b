"""Simulation times on the dt grid, by NEST's rule for ``Simulate(t)``.

NEST (``nestkernel/nest.cpp: run``, ``nest_time.h``) converts a time in ms to integer tics
(1 tic = 1 microsecond by default) by ``tics = (long)(t * 1000 + 0.5)`` and refuses a time
that is negative, not finite, or whose tics are not a whole number of steps ("The simulation
time must be a multiple of the simulation resolution"); it never rounds a time to the grid.
So 10.05 ms at dt = 0.1 ms is refused, while 10.0000004 ms (10000 tics) is 100 steps.
"""
import math

from .errors import SpecError

TICS_PER_MS = 1000  # NEST's default tic: 1 microsecond


def _dt_tics(dt_ms):
    """dt in whole tics, or None when dt is not a whole number of tics (NEST would refuse
    such a resolution; distsim then allows half a tic around each multiple of dt)."""
    t = dt_ms * TICS_PER_MS
    r = round(t)
    return int(r) if r >= 1 and abs(t - r) <= 1e-9 * max(1.0, t) else None


def grid_steps(field, t_ms, dt_ms, positive=False):
    """The number of dt steps in ``t_ms`` (int); raises SpecError naming ``field`` when
    ``t_ms`` is not finite, negative (or zero with ``positive``), or not a multiple of dt_ms
    by NEST's rule (rounded to the nearest tic first)."""
    if isinstance(t_ms, bool) or not isinstance(t_ms, (int, float)) or not math.isfinite(t_ms) or t_ms < 0 \
            or (positive and t_ms == 0):
        raise SpecError(field, t_ms, f"must be a finite number {'>' if positive else '>='} 0 (ms)")
    dtt = _dt_tics(dt_ms)
    if dtt is not None:
        tics = int(math.floor(t_ms * TICS_PER_MS + 0.5))
        steps, rest = divmod(tics, dtt)
        ok = rest == 0
    else:
        steps = int(round(t_ms / dt_ms))
        ok = abs(t_ms - steps * dt_ms) * TICS_PER_MS < 0.5
    if not ok or (positive and steps == 0):
        lo = math.floor(t_ms / dt_ms) * dt_ms
        near = [x for x in (lo, lo + dt_ms) if x > 0 or not positive]
        raise SpecError(field, t_ms, f"must be a multiple of dt_ms = {dt_ms:g} (as NEST's Simulate: "
                                     f"times are not rounded to the grid); nearest: "
                                     f"{' or '.join(f'{x:.10g}' for x in near)} ms")
    return steps
