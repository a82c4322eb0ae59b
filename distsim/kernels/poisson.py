"""Poisson counts by inversion with precomputed CDF tables (pure numba).

One random 64-bit word per draw, so a draw is addressed by (stream key, step) alone. The CDF
is stored as int64 thresholds ``floor(cdf * 2**63)`` and compared with the top 63 bits of the
word: integer compares, no int-to-float conversion. The first ``BRANCHLESS`` entries are
compared without branches (a data-dependent search loop costs ~25 ns a draw in branch
mispredictions at the small means of network drive, 0.1-3 per step). The draw itself
is ``kernels.neurons._poisson_step``; this module builds the tables.
"""
import math

import numpy as np

from . import libm

BRANCHLESS = 16  # entries searched without branches; tables are padded beyond this
_TOP = 2 ** 63 - 1


def cdf_table(mean):
    """CDF of Poisson(mean) as float64[L], cut where the tail is below 2**-60, last entry 1.0."""
    if not (mean >= 0.0 and math.isfinite(mean)):
        raise ValueError(f"Poisson mean per step must be finite and >= 0, got {mean}")
    if mean == 0.0:
        return np.ones(1)
    k_max = int(mean + 12.0 * math.sqrt(mean) + 30)
    k = np.arange(k_max + 1, dtype=np.float64)
    log_pmf = -mean + k * math.log(mean) - np.array([math.lgamma(x + 1.0) for x in k])
    cdf = np.cumsum(libm.exp(log_pmf))
    cut = np.searchsorted(cdf, 1.0 - 2.0 ** -60)
    cdf = cdf[: min(cut + 1, cdf.size)].copy()
    cdf[-1] = 1.0
    return cdf


def stack_tables(tables):
    """Flat int64 thresholds floor(cdf * 2**63) of CDF tables, each padded to the same width
    W > BRANCHLESS with the largest int64 (which no 63-bit draw reaches); returns (flat, W).
    Table ``i`` starts at offset ``i * W`` (a flat array: 2-D indexing defeats vectorisation)."""
    width = max([t.size for t in tables] + [BRANCHLESS + 1])
    out = np.full((max(len(tables), 1), width), _TOP, dtype=np.int64)
    for i, t in enumerate(tables):
        thr = np.array([min(int(x * 2.0 ** 63), _TOP) for x in t], dtype=np.int64)
        thr[-1] = _TOP
        out[i, : t.size] = thr
    return out.ravel().copy(), width
