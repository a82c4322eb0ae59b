"""Connection generation kernels (pure numba).

Each rank generates only the synapses whose target is local, one target at a time, from a
stream keyed by (seed, projection id, target gid). The same target therefore gets the same
sources, weights and delays for any number of ranks.

Generation runs twice with the same streams: ``mode=COUNT`` counts synapses per source,
``mode=FILL`` writes them into their final place in a source-grouped (CSR) table, so no
temporary per-synapse arrays are ever held (memory stays at the final ~9-10 bytes/synapse).
Within a source row the order is (projection, target); ``sort_rows_by_delay`` then makes it
(delay, projection, target), which is what makes delivery into ring buffers cache-friendly.
"""
import math

import numpy as np
from numba import njit

from .rng import TAG_CONNECT, TAG_TOTAL, draw_value, stream_key, uniform

COUNT = 0
FILL = 1

RULE_FIXED_INDEGREE = 0
RULE_FIXED_TOTAL_NUMBER = 1
RULE_PAIRWISE_BERNOULLI = 2
RULE_ALL_TO_ALL = 3
RULE_ONE_TO_ONE = 4


@njit(cache=True)
def total_number_split(seed, proj_id, n_total, n_targets):
    """Synapse counts per target (int64[n_targets]) for ``fixed_total_number``.

    Every rank draws the same multinomial split: each of the ``n_total`` synapses picks its
    target uniformly from one stream keyed by (seed, projection).
    """
    counts = np.zeros(n_targets, dtype=np.int64)
    key = stream_key(seed, TAG_TOTAL, proj_id, 0)
    for i in range(n_total):
        counts[int(uniform(key, i) * n_targets)] += 1
    return counts


@njit(cache=True)
def _draw_sources(rule, key, t, j, src_lo, n_src, k_fixed, p, tgt_count, tgt_offset,
                  allow_autapses, allow_multapses, srcbuf, marker):
    """Sources of target gid ``t`` into srcbuf; returns (n, next counter)."""
    c = 0
    n = 0
    if rule == RULE_FIXED_INDEGREE or rule == RULE_FIXED_TOTAL_NUMBER:
        k = k_fixed if rule == RULE_FIXED_INDEGREE else tgt_count
        stamp = j + 1
        while n < k:
            s = src_lo + int(uniform(key, c) * n_src)
            c += 1
            if not allow_autapses and s == t:
                continue
            if not allow_multapses:
                if marker[s - src_lo] == stamp:
                    continue
                marker[s - src_lo] = stamp
            srcbuf[n] = s
            n += 1
    elif rule == RULE_PAIRWISE_BERNOULLI:
        if p >= 1.0:
            for i in range(n_src):
                s = src_lo + i
                if allow_autapses or s != t:
                    srcbuf[n] = s
                    n += 1
        elif p > 0.0:
            log_q = math.log1p(-p)
            i = -1
            while True:
                u = uniform(key, c)
                c += 1
                i += int(math.floor(math.log1p(-u) / log_q)) + 1
                if i >= n_src:
                    break
                s = src_lo + i
                if allow_autapses or s != t:
                    srcbuf[n] = s
                    n += 1
    elif rule == RULE_ALL_TO_ALL:
        for i in range(n_src):
            s = src_lo + i
            if allow_autapses or s != t:
                srcbuf[n] = s
                n += 1
    elif rule == RULE_ONE_TO_ONE:
        s = src_lo + tgt_offset
        if allow_autapses or s != t:
            srcbuf[0] = s
            n = 1
    return n, c


@njit(cache=True)
def generate_projection(mode, rule, seed, proj_id, src_lo, n_src, tgt_lo, tgt_gids, tgt_lidx,
                        k_fixed, p, tgt_counts, allow_autapses, allow_multapses,
                        wspec, dspec, inv_dt, counts, pos, out_tgt, out_w, out_d,
                        srcbuf, marker, max_code, overflow):
    """Generate one projection's synapses onto the local targets ``tgt_gids``.

    wspec, dspec: float64[5] = (kind, a, b, lo, hi) of weight and delay (ms) distributions.
    COUNT mode adds to ``counts[source gid]``; FILL mode writes target local index, weight and
    delay (steps, NEST rounding ``floor(d/dt + 0.5)``) at ``pos[source gid]`` and advances it.
    A delay above ``max_code`` (the largest value of out_d's dtype) sets ``overflow[0]``;
    the caller then generates again with a wider dtype.
    Returns the number of synapses generated (int64).
    """
    total = 0
    wk = int(wspec[0])
    dk = int(dspec[0])
    for j in range(tgt_gids.shape[0]):
        t = tgt_gids[j]
        key = stream_key(seed, TAG_CONNECT, proj_id, t)
        tc = tgt_counts[t - tgt_lo] if rule == RULE_FIXED_TOTAL_NUMBER else 0
        n, c = _draw_sources(rule, key, t, j, src_lo, n_src, k_fixed, p, tc, t - tgt_lo,
                             allow_autapses, allow_multapses, srcbuf, marker)
        total += n
        if mode == COUNT:
            for m in range(n):
                counts[srcbuf[m]] += 1
            continue
        tl = tgt_lidx[j]
        for m in range(n):
            w, c = draw_value(wk, wspec[1], wspec[2], wspec[3], wspec[4], key, c)
            d, c = draw_value(dk, dspec[1], dspec[2], dspec[3], dspec[4], key, c)
            s = srcbuf[m]
            q = pos[s]
            out_tgt[q] = tl
            out_w[q] = w
            ds = int(math.floor(d * inv_dt + 0.5))
            if ds > max_code:
                overflow[0] = 1
                ds = max_code
            out_d[q] = ds
            pos[s] = q + 1
    return total


@njit(cache=True)
def sort_rows_by_delay(row_ptr, tgt, w, d, max_delay):
    """Stable counting sort of every source row by delay (in place)."""
    n_rows = row_ptr.shape[0] - 1
    longest = 0
    for r in range(n_rows):
        longest = max(longest, row_ptr[r + 1] - row_ptr[r])
    tt = np.empty(longest, dtype=tgt.dtype)
    tw = np.empty(longest, dtype=w.dtype)
    td = np.empty(longest, dtype=d.dtype)
    hist = np.zeros(max_delay + 2, dtype=np.int64)
    for r in range(n_rows):
        a = row_ptr[r]
        b = row_ptr[r + 1]
        if b - a < 2:
            continue
        sorted_already = True
        for k in range(a + 1, b):
            if d[k] < d[k - 1]:
                sorted_already = False
                break
        if sorted_already:
            continue
        hist[:] = 0
        for k in range(a, b):
            hist[d[k] + 1] += 1
        for v in range(1, max_delay + 2):
            hist[v] += hist[v - 1]
        for k in range(a, b):
            q = hist[d[k]]
            hist[d[k]] = q + 1
            tt[q] = tgt[k]
            tw[q] = w[k]
            td[q] = d[k]
        for k in range(b - a):
            tgt[a + k] = tt[k]
            w[a + k] = tw[k]
            d[a + k] = td[k]
