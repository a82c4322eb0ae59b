"""Current input of the generators whose current changes from step to step or differs per
target (``ac_generator``, ``noise_generator``): one kernel call per device and slice adds the
slice's currents (pA) to the current-input rows ``ring[s % R, idx]`` of its steps ``s``.

Steps: the generator *sends* in step ``e`` (NEST's ``update`` at lag ``e``) when ``lo <= e <
hi`` (NEST's window for current generators, ``engine.simulation._current_schedule``: ``lo =
max(0, t_min - 1)``, ``hi = t_max - 1``); what it sends in step ``e`` is in the neuron's row
``e + delay`` (read at the end of that step, like a dc_generator's current).

- ac_generator (NEST models/ac_generator.cpp): ``offset + amplitude sin(omega t + phase)`` with
  ``t = (e + 1) h``: NEST starts its oscillator ``(y_0, y_1) = amplitude (cos, sin)(omega t_0 +
  phase)`` when a Simulate call begins (``t_0``: the time then) and rotates it by the exact
  rotation matrix of angle ``omega h`` at the start of every step, active or not; step ``e``
  sends ``y_1 + offset``. We run the same recurrence with the same operations from ``t_0 = 0``,
  so the currents equal NEST's bit for bit for a run in one Simulate call. The oscillator
  (``AcArgs.osc``, ``pos``: rotations done) is recomputed from step 0 when a run resumes
  elsewhere (a checkpoint): the same operations, so the same bits as a run without a break.
- noise_generator (NEST models/noise_generator.cpp): in its first active step ``lo`` and then
  every ``dt_steps`` steps it draws a new current ``mean + sigma_j N(0, 1)`` per target (draw
  ``j`` at step ``lo + j dt_steps``), held in between; ``sigma_j = sqrt(std^2 + std_mod^2
  y_j)`` with ``y_j = sin(omega (j dt_steps + 1) h + phase)``: NEST rotates the modulation only
  in active steps, starting from the phase at the start of Simulate, so counted from the
  device's first active step (what NEST computes within one Simulate call that starts at 0).
  Our normal numbers come from the counter-based stream of (seed, device, target gid) at
  counter ``2 j`` (``rng.normal``), so a draw depends on nothing but these: not on the
  number of ranks, the slice length or a checkpoint in between.
"""
import math
from collections import namedtuple

import numpy as np
from numba import njit

from .rng import normal

#: ac_generator of one device on this rank: local target indices (int64), delay (steps),
#: sending window [lo, hi) (steps), offset (pA), the rotation matrix (a00, a01, a10, a11), the
#: oscillator at t = 0 (y0_start, y1_start, pA) and its state: osc float64[2] (y_0, y_1) after
#: pos[0] (int64[1]) rotations
AcArgs = namedtuple("AcArgs", "idx delay lo hi offset a00 a01 a10 a11 y0_start y1_start osc pos")

#: noise_generator of one device on this rank: local target indices (int64), their stream
#: keys (uint64, rng.keys_per_gid), scratch (float64, one per target), delay (steps), sending
#: window [lo, hi) (steps), steps between draws, mean, std, std_mod (pA), omega h (rad per
#: step), phase (rad)
NoiseArgs = namedtuple("NoiseArgs", "idx keys vals delay lo hi dt_steps mean std std_mod omega_h phase")


def ac_matrix(amplitude_pA, frequency_Hz, phase_deg, h_ms):
    """(a00, a01, a10, a11, y0_start, y1_start) as NEST's ac_generator::pre_run_hook computes
    them at t = 0 (the same expressions, in the same order)."""
    omega = 2.0 * math.pi * frequency_Hz / 1000.0
    phi_rad = phase_deg * 2.0 * math.pi / 360.0
    t = 0.0
    return (math.cos(omega * h_ms), -math.sin(omega * h_ms), math.sin(omega * h_ms), math.cos(omega * h_ms),
            amplitude_pA * math.cos(omega * t + phi_rad), amplitude_pA * math.sin(omega * t + phi_rad))


@njit(cache=True)
def ac_rows(ring, t0, M, a):
    """Add an ac_generator's current (AcArgs ``a``) to the rows of steps t0 .. t0+M-1."""
    R = ring.shape[0]
    e0 = max(t0 - a.delay, a.lo)  # sending steps of this slice's rows
    e1 = min(t0 + M - a.delay, a.hi)
    if e0 >= e1:
        return
    if a.pos[0] > e0 + 1:  # resumed at an earlier step: start the oscillator again
        a.osc[0] = a.y0_start
        a.osc[1] = a.y1_start
        a.pos[0] = 0
    y0 = a.osc[0]
    y1 = a.osc[1]
    p = a.pos[0]
    n = a.idx.shape[0]
    for e in range(e0, e1):
        while p < e + 1:  # the rotation at the start of step p (NEST: every step)
            y = y0
            y0 = a.a00 * y + a.a01 * y1
            y1 = a.a10 * y + a.a11 * y1
            p += 1
        v = y1 + a.offset
        row = (e + a.delay) % R
        for k in range(n):
            ring[row, a.idx[k]] += v
    a.osc[0] = y0
    a.osc[1] = y1
    a.pos[0] = p


@njit(cache=True)
def noise_sigma(std, std_mod, omega_h, phase, dt_steps, j):
    """Standard deviation (pA) of draw ``j``: NEST's sqrt(std^2 + y std_mod^2), y the
    modulation's sine at the draw's step (see the module docstring)."""
    y = 0.0
    if std_mod != 0.0:
        y = math.sin(omega_h * (j * dt_steps + 1) + phase)
    return math.sqrt(std * std + y * std_mod * std_mod)


@njit(cache=True)
def noise_rows(ring, t0, M, a):
    """Add a noise_generator's currents (NoiseArgs ``a``) to the rows of steps t0 .. t0+M-1:
    each draw once per target, then added to every row it holds for."""
    R = ring.shape[0]
    n = a.idx.shape[0]
    e = max(t0 - a.delay, a.lo)  # sending steps of this slice's rows
    e1 = min(t0 + M - a.delay, a.hi)
    while e < e1:
        j = (e - a.lo) // a.dt_steps
        end = min(e1, a.lo + (j + 1) * a.dt_steps)
        sigma = noise_sigma(a.std, a.std_mod, a.omega_h, a.phase, a.dt_steps, j)
        for k in range(n):
            z, _ = normal(a.keys[k], 2 * j)
            a.vals[k] = a.mean + sigma * z
        for s in range(e + a.delay, end + a.delay):
            row = s % R
            for k in range(n):
                ring[row, a.idx[k]] += a.vals[k]
        e = end


#: every current kernel of a rank in flat arrays, for the compiled loop (engine.loop), whose
#: argument types then do not depend on which generators a network has: ``order[i]`` is
#: ``2 k`` for the k-th ac_generator, ``2 k + 1`` for the k-th noise_generator, in device
#: order; device k's targets are ``idx[iptr[k]:iptr[k + 1]]`` (and its keys and scratch
#: values, noise), the other fields one entry per device (AcArgs, NoiseArgs); ``osc``
#: [device, 2] and ``pos`` [device, 1] are the very arrays of the devices' AcArgs (views)
CurrentTables = namedtuple("CurrentTables", "order ac_idx ac_iptr ac_delay ac_lo ac_hi ac_offset ac_a00 ac_a01 "
                                            "ac_a10 ac_a11 ac_y0 ac_y1 ac_osc ac_pos no_idx no_iptr no_keys "
                                            "no_vals no_delay no_lo no_hi no_dt_steps no_mean no_std "
                                            "no_std_mod no_omega_h no_phase")


def current_tables(kernels):
    """CurrentTables of ``Simulation.current_kernels`` [(kernel, AcArgs or NoiseArgs)]. The
    oscillator state of each ac_generator is copied in and must be copied back after a
    compiled call (:func:`store_oscillators`)."""
    ac = [a for k, a in kernels if isinstance(a, AcArgs)]
    no = [a for k, a in kernels if isinstance(a, NoiseArgs)]
    order, ia, ino = [], 0, 0
    for _, a in kernels:
        if isinstance(a, AcArgs):
            order.append(2 * ia)
            ia += 1
        else:
            order.append(2 * ino + 1)
            ino += 1
    i64 = lambda x: np.array(x, dtype=np.int64)  # noqa: E731
    f64 = lambda x: np.array(x, dtype=np.float64)  # noqa: E731
    cat = lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)  # noqa: E731
    ptr = lambda parts: i64([0] + list(np.cumsum([p.size for p in parts])))  # noqa: E731
    return CurrentTables(
        i64(order), cat([a.idx for a in ac], np.int64), ptr([a.idx for a in ac]), i64([a.delay for a in ac]),
        i64([a.lo for a in ac]), i64([a.hi for a in ac]), f64([a.offset for a in ac]), f64([a.a00 for a in ac]),
        f64([a.a01 for a in ac]), f64([a.a10 for a in ac]), f64([a.a11 for a in ac]),
        f64([a.y0_start for a in ac]), f64([a.y1_start for a in ac]),
        f64([a.osc for a in ac]).reshape(len(ac), 2), i64([a.pos for a in ac]).reshape(len(ac), 1),
        cat([a.idx for a in no], np.int64), ptr([a.idx for a in no]), cat([a.keys for a in no], np.uint64),
        np.zeros(sum(a.idx.size for a in no)), i64([a.delay for a in no]), i64([a.lo for a in no]),
        i64([a.hi for a in no]), i64([a.dt_steps for a in no]), f64([a.mean for a in no]),
        f64([a.std for a in no]), f64([a.std_mod for a in no]), f64([a.omega_h for a in no]),
        f64([a.phase for a in no]))


def store_oscillators(tables, kernels):
    """Copy the ac_generators' oscillators (y_0, y_1, rotations done) from ``tables`` back
    into their AcArgs in ``kernels``, so both stay one state. Returns None."""
    k = 0
    for _, a in kernels:
        if isinstance(a, AcArgs):
            a.osc[:] = tables.ac_osc[k]
            a.pos[:] = tables.ac_pos[k]
            k += 1


@njit(cache=True)
def current_table_rows(c, ring, t0, M):
    """Every current kernel of CurrentTables ``c`` adds its currents of steps t0..t0+M-1 to
    the rows, in device order, skipping those without local targets (as the Python path
    does): ac_rows and noise_rows on each device's part of the tables."""
    for i in range(c.order.shape[0]):
        k = c.order[i] // 2
        if c.order[i] % 2 == 0:
            a0, a1 = c.ac_iptr[k], c.ac_iptr[k + 1]
            if a1 > a0:
                ac_rows(ring, t0, M, AcArgs(c.ac_idx[a0:a1], c.ac_delay[k], c.ac_lo[k], c.ac_hi[k], c.ac_offset[k],
                                            c.ac_a00[k], c.ac_a01[k], c.ac_a10[k], c.ac_a11[k], c.ac_y0[k],
                                            c.ac_y1[k], c.ac_osc[k], c.ac_pos[k]))
        else:
            a0, a1 = c.no_iptr[k], c.no_iptr[k + 1]
            if a1 > a0:
                noise_rows(ring, t0, M, NoiseArgs(c.no_idx[a0:a1], c.no_keys[a0:a1], c.no_vals[a0:a1], c.no_delay[k],
                                                  c.no_lo[k], c.no_hi[k], c.no_dt_steps[k], c.no_mean[k],
                                                  c.no_std[k], c.no_std_mod[k], c.no_omega_h[k], c.no_phase[k]))
