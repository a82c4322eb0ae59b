"""Poisson counts by inversion with precomputed CDF tables (pure numba).

One uniform per draw, so a draw is addressed by (stream key, step) alone. For the small means
of network drive (0.1-3 per step) the expected search length is about mean + 1 comparisons.
"""
import math

import numpy as np
from numba import njit

from .rng import uniform


def cdf_table(mean):
    """CDF of Poisson(mean) as float64[L], cut where the tail is below 2**-60, last entry 1.0."""
    if not (mean >= 0.0 and math.isfinite(mean)):
        raise ValueError(f"Poisson mean per step must be finite and >= 0, got {mean}")
    if mean == 0.0:
        return np.ones(1)
    k_max = int(mean + 12.0 * math.sqrt(mean) + 30)
    k = np.arange(k_max + 1, dtype=np.float64)
    log_pmf = -mean + k * math.log(mean) - np.array([math.lgamma(x + 1.0) for x in k])
    cdf = np.cumsum(np.exp(log_pmf))
    cut = np.searchsorted(cdf, 1.0 - 2.0 ** -60)
    cdf = cdf[: min(cut + 1, cdf.size)].copy()
    cdf[-1] = 1.0
    return cdf


def stack_tables(tables):
    """Pad CDF tables to one float64[n_tables, L] array (padding 1.0); returns it."""
    width = max((t.size for t in tables), default=1)
    out = np.ones((max(len(tables), 1), width))
    for i, t in enumerate(tables):
        out[i, : t.size] = t
    return out


@njit(inline="always", cache=True)
def poisson_count(cdf_row, key, step):
    """Poisson count for (stream key, step) by inversion of one CDF table row."""
    u = uniform(key, step)
    k = 0
    while u >= cdf_row[k]:
        k += 1
    return k
