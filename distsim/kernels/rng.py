"""Counter-based random numbers for numba kernels.

Every random number in distsim comes from a stream addressed by a key and a counter:
``x_i = mix64(key + i * GOLDEN)`` (the SplitMix64 output function, which passes BigCrush).
Keys are derived from the run seed and *model* identities (projection id, device id,
target gid, ...), never from the rank, so results do not depend on the number of ranks, and
the position in a stream is a plain integer that a checkpoint can store.
"""
import math

import numpy as np
from numba import njit

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53

# Stream tags: the first component of every key, so streams of different purposes never meet.
TAG_CONNECT = 1
TAG_TOTAL = 2
TAG_POISSON = 3
TAG_INIT = 4
TAG_NOISE = 5
TAG_ESCAPE = 6  # escape noise of GIF neurons and population nodes
TAG_POSITION = 7  # random (free) positions of spatial populations


@njit(inline="always", cache=True)
def mix64(z):
    """SplitMix64 finaliser: a bijective 64-bit mix (uint64 -> uint64)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(inline="always", cache=True)
def stream_key(seed, tag, a, b):
    """Key (uint64) of the stream for (seed, tag, a, b); all arguments are non-negative ints."""
    k = mix64(np.uint64(seed) * GOLDEN + np.uint64(tag))
    k = mix64(k ^ (np.uint64(a) * _M1 + GOLDEN))
    k = mix64(k ^ (np.uint64(b) * _M2 + GOLDEN))
    return k


@njit(inline="always", cache=True)
def uniform(key, counter):
    """Uniform double in [0, 1) at position ``counter`` of stream ``key``."""
    x = mix64(key + np.uint64(counter) * GOLDEN)
    return float(x >> _S11) * _INV53


@njit(inline="always", cache=True)
def normal(key, counter):
    """Standard normal from two uniforms (Box-Muller); returns (value, next counter)."""
    u1 = uniform(key, counter)
    u2 = uniform(key, counter + 1)
    r = math.sqrt(-2.0 * math.log(1.0 - u1))
    return r * math.cos(2.0 * math.pi * u2), counter + 2


# Value distributions shared by weights, delays and per-neuron parameters.
DIST_CONST = 0
DIST_NORMAL = 1
DIST_UNIFORM = 2


@njit(cache=True)
def draw_value(kind, a, b, lo, hi, key, counter):
    """One value of a distribution; returns (value, next counter).

    kind DIST_CONST: a. DIST_NORMAL: mean a, std b, redrawn until inside [lo, hi].
    DIST_UNIFORM: uniform in [a, b).
    """
    if kind == DIST_CONST:
        return a, counter
    if kind == DIST_UNIFORM:
        return a + (b - a) * uniform(key, counter), counter + 1
    for _ in range(1000000):
        z, counter = normal(key, counter)
        v = a + b * z
        if v >= lo and v <= hi:
            return v, counter
    return np.nan, counter  # unreachable for validated bounds (checked before any work)


@njit(cache=True)
def draw_per_gid(kind, a, b, lo, hi, seed, tag, ident, gids, out):
    """Fill ``out[i]`` with one draw keyed by (seed, tag, ident, gids[i]); independent of ranks."""
    for i in range(gids.shape[0]):
        key = stream_key(seed, tag, ident, gids[i])
        out[i], _ = draw_value(kind, a, b, lo, hi, key, 0)


@njit(cache=True)
def keys_per_gid(seed, tag, ident, gids):
    """uint64 stream keys (seed, tag, ident, gid) for each gid in ``gids``."""
    out = np.empty(gids.shape[0], dtype=np.uint64)
    for i in range(gids.shape[0]):
        out[i] = stream_key(seed, tag, ident, gids[i])
    return out
