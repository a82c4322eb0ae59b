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

from .rng import TAG_CONNECT, TAG_POSITION, TAG_TOTAL, draw_value, stream_key, uniform

COUNT = 0
FILL = 1

RULE_FIXED_INDEGREE = 0
RULE_FIXED_TOTAL_NUMBER = 1
RULE_PAIRWISE_BERNOULLI = 2
RULE_ALL_TO_ALL = 3
RULE_ONE_TO_ONE = 4

# spatial connections (codes as in distsim.spec.spatial)
PROFILE_CONST, PROFILE_BOXCAR, PROFILE_GAUSSIAN, PROFILE_EXPONENTIAL = 0, 1, 2, 3
MASK_NONE, MASK_CIRCULAR, MASK_RECTANGULAR = 0, 1, 2
DIST_DISTANCE = 3  # delay d0 + c * distance
EDGE_RTOL = 1e-9  # inclusive boundaries of boxcar and masks, up to this relative tolerance
#: error codes of generate_spatial_projection (err[0]); err[1] = target gid, err[2] = count
ERR_NO_SOURCE = 1  # fixed_indegree: no source with p > 0 inside the mask
ERR_TOO_FEW = 2  # fixed_indegree without multapses: fewer such sources than the in-degree


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
def _store_synapse(s, tl, w, d, inv_dt, max_code, pos, out_tgt, out_w, out_d, overflow):
    """Write one synapse of source ``s`` (target local index ``tl``, weight ``w``, delay ``d``
    ms rounded to steps, clipped to ``max_code`` with ``overflow[0]`` set) at its row's next
    position ``pos[s]``, and advance that position. Returns None."""
    q = pos[s]
    out_tgt[q] = tl
    out_w[q] = w
    ds = int(math.floor(d * inv_dt + 0.5))
    if ds > max_code:
        overflow[0] = 1
        ds = max_code
    out_d[q] = ds
    pos[s] = q + 1


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
            _store_synapse(srcbuf[m], tl, w, d, inv_dt, max_code, pos, out_tgt, out_w, out_d, overflow)
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


# ---------------------------------------------------------------------------- spatial
@njit(cache=True)
def free_positions(seed, gid0, lo, extent, out):
    """Uniform random positions in the box [lo, lo + extent) into ``out[n, ndim]``: neuron i
    (gid ``gid0 + i``) draws coordinate k at counter k of stream (seed, TAG_POSITION, 0, gid),
    so positions do not depend on the number of ranks."""
    for i in range(out.shape[0]):
        key = stream_key(seed, TAG_POSITION, 0, gid0 + i)
        for k in range(out.shape[1]):
            out[i, k] = lo[k] + extent[k] * uniform(key, k)


@njit(inline="always", cache=True)
def displacement(sp, tp, extent, wrap, disp):
    """Displacement source ``sp`` - target ``tp`` into ``disp`` (shortest one when ``wrap``,
    i.e. each coordinate in [-extent/2, extent/2)); returns its length."""
    d2 = 0.0
    for k in range(disp.shape[0]):
        x = sp[k] - tp[k]
        if wrap:
            e = extent[k]
            x -= e * math.floor(x / e + 0.5)
        disp[k] = x
        d2 += x * x
    return math.sqrt(d2)


@njit(inline="always", cache=True)
def in_mask(mask, disp, dist):
    """True when displacement ``disp`` (length ``dist``) lies in ``mask`` = (code, radius,
    lower_left[ndim], upper_right[ndim]); boundaries inclusive."""
    code = int(mask[0])
    if code == MASK_NONE:
        return True
    if code == MASK_CIRCULAR:
        return dist <= mask[1] * (1.0 + EDGE_RTOL)
    nd = disp.shape[0]
    for k in range(nd):
        lo = mask[2 + k]
        hi = mask[2 + nd + k]
        tol = EDGE_RTOL * (hi - lo)
        if disp[k] < lo - tol or disp[k] > hi + tol:
            return False
    return True


@njit(inline="always", cache=True)
def profile_p(prof, d):
    """Connection probability at distance ``d`` of ``prof`` = (code, p0, a, b)."""
    code = int(prof[0])
    p0 = prof[1]
    if code == PROFILE_CONST:
        return p0
    if code == PROFILE_BOXCAR:
        return p0 if d <= prof[2] * (1.0 + EDGE_RTOL) else 0.0
    if code == PROFILE_GAUSSIAN:
        z = (d - prof[3]) / prof[2]
        return p0 * math.exp(-0.5 * z * z)
    return p0 * math.exp(-d / prof[2])


@njit(cache=True)
def _draw_spatial_sources(rule, key, t, tp, src_lo, src_pos, extent, wrap, k_fixed, prof, mask,
                          allow_autapses, allow_multapses, stamp, srcbuf, distbuf, cand, cand_p,
                          cand_d, marker, disp, err):
    """Sources of target gid ``t`` (position ``tp``) into srcbuf (their distances into
    distbuf); returns (n, next counter), or (-1, counter) after setting ``err``."""
    n_src = src_pos.shape[0]
    c = 0
    n = 0
    m = 0
    p_max = 0.0
    for i in range(n_src):
        s = src_lo + i
        if not allow_autapses and s == t:
            continue
        if rule == RULE_PAIRWISE_BERNOULLI:  # NEST: the pool is the target layer
            dist = displacement(tp, src_pos[i], extent, wrap, disp)
        else:  # fixed_indegree: the pool is the source layer
            dist = displacement(src_pos[i], tp, extent, wrap, disp)
        if not in_mask(mask, disp, dist):
            continue
        p = profile_p(prof, dist)
        if p <= 0.0:
            continue
        if rule == RULE_PAIRWISE_BERNOULLI:
            if p < 1.0:
                u = uniform(key, c)
                c += 1
                if u >= p:
                    continue
            srcbuf[n] = s
            distbuf[n] = dist
            n += 1
        else:
            cand[m] = i
            cand_p[m] = p
            cand_d[m] = dist
            m += 1
            p_max = max(p_max, p)
    if rule == RULE_PAIRWISE_BERNOULLI or k_fixed == 0:
        return n, c
    if m == 0 or (not allow_multapses and m < k_fixed):
        err[0] = ERR_NO_SOURCE if m == 0 else ERR_TOO_FEW
        err[1] = t
        err[2] = m
        return -1, c
    # fixed_indegree (NEST): pick a source inside the mask uniformly, keep it with
    # probability p / p_max, until k_fixed are kept (a boxcar or constant p keeps every pick)
    while n < k_fixed:
        q = int(uniform(key, c) * m)
        c += 1
        r = cand_p[q] / p_max
        if r < 1.0:
            u = uniform(key, c)
            c += 1
            if u >= r:
                continue
        i = cand[q]
        if not allow_multapses:
            if marker[i] == stamp:
                continue
            marker[i] = stamp
        srcbuf[n] = src_lo + i
        distbuf[n] = cand_d[q]
        n += 1
    return n, c


@njit(cache=True)
def generate_spatial_projection(mode, rule, seed, proj_id, src_lo, src_pos, tgt_lo, tgt_pos,
                                tgt_gids, tgt_lidx, k_fixed, prof, mask, extent, wrap,
                                allow_autapses, allow_multapses, wspec, dspec, inv_dt, counts,
                                pos, out_tgt, out_w, out_d, srcbuf, distbuf, cand, cand_p, cand_d,
                                marker, max_code, overflow, err):
    """Generate one spatial projection's synapses onto the local targets ``tgt_gids``, like
    :func:`generate_projection` and from the same (seed, projection, target) streams.

    src_pos/tgt_pos: float64[n, ndim] positions of the whole source/target population;
    displacements are measured in the pool layer as in NEST: target - source for
    pairwise_bernoulli (pool = targets), source - target for fixed_indegree (pool = sources);
    extent: the pool's extent, ``wrap`` its edge_wrap (periodic displacements);
    prof = (code, p0, a, b) profile; mask = (code, radius, lower_left, upper_right);
    dspec kind DIST_DISTANCE gives delay dspec[1] + dspec[2] * distance (ms).
    Returns the number of synapses generated, or -1 with ``err`` set (err[0] ERR_*,
    err[1] target gid, err[2] number of sources available in the mask).
    """
    total = 0
    wk = int(wspec[0])
    dk = int(dspec[0])
    disp = np.empty(src_pos.shape[1])
    for j in range(tgt_gids.shape[0]):
        t = tgt_gids[j]
        key = stream_key(seed, TAG_CONNECT, proj_id, t)
        n, c = _draw_spatial_sources(rule, key, t, tgt_pos[t - tgt_lo], src_lo, src_pos, extent, wrap,
                                     k_fixed, prof, mask, allow_autapses, allow_multapses, j + 1,
                                     srcbuf, distbuf, cand, cand_p, cand_d, marker, disp, err)
        if n < 0:
            return -1
        total += n
        if mode == COUNT:
            for m in range(n):
                counts[srcbuf[m]] += 1
            continue
        tl = tgt_lidx[j]
        for m in range(n):
            w, c = draw_value(wk, wspec[1], wspec[2], wspec[3], wspec[4], key, c)
            if dk == DIST_DISTANCE:
                d = dspec[1] + dspec[2] * distbuf[m]
            else:
                d, c = draw_value(dk, dspec[1], dspec[2], dspec[3], dspec[4], key, c)
            _store_synapse(srcbuf[m], tl, w, d, inv_dt, max_code, pos, out_tgt, out_w, out_d, overflow)
    return total
