"""exp, expm1 and log of float64 arrays with the same bits on every x86-64 machine.

Used for every number that enters the simulation and is computed outside numba kernels
(propagators in the models' ``calibrate``, Poisson CDF tables, connection counts).

Why not numpy: on CPUs with AVX-512 (numpy's ``X86_V4`` / ``AVX512_SKX`` dispatch) numpy 2.x
evaluates float64 ``exp`` and ``log`` of arrays with its own vectorised code, and on other
CPUs with the C library's functions. The two differ in the last bit for some arguments.
Found on an AMD EPYC with AVX-512: the same commit, seed and network gave other V_m traces
(gif_meso, the microcircuit, the all-devices case of tests/unit/test_driver_bit_identity.py)
than on an AVX2 machine, and the same traces again with
``NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL"``. A run whose ranks sit on different node
types would have depended on which rank owns which neuron.

These wrappers evaluate the C library's ``exp``/``expm1``/``log`` one element at a time from
numba, the same functions numba's kernels call, whatever the CPU. Inputs may be numbers or
arrays of any shape; the result has the input's shape (a numpy float64 for a number).
"""
import math

import numpy as np
from numba import njit


@njit(cache=True)
def _exp(x, out):
    for i in range(x.size):
        out[i] = math.exp(x[i])


@njit(cache=True)
def _expm1(x, out):
    for i in range(x.size):
        out[i] = math.expm1(x[i])


@njit(cache=True)
def _log(x, out):
    for i in range(x.size):
        v = x[i]
        if v > 0.0:
            out[i] = math.log(v)
        elif v == 0.0:
            out[i] = -math.inf
        else:
            out[i] = math.nan


def _apply(fn, x):
    a = np.array(x, dtype=np.float64, order="C")  # a copy; 0-d stays 0-d
    out = np.empty_like(a)
    fn(a.reshape(-1), out.reshape(-1))
    return out if out.ndim else np.float64(out[()])


def exp(x):
    """e**x (float64, elementwise; numbers or arrays), the C library's exp on every CPU."""
    return _apply(_exp, x)


def expm1(x):
    """e**x - 1 (float64, elementwise), the C library's expm1 on every CPU."""
    return _apply(_expm1, x)


def log(x):
    """Natural logarithm (float64, elementwise; -inf at 0, nan below), the C library's log."""
    return _apply(_log, x)
