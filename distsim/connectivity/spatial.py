"""Positions of spatial populations and the geometry of spatial projections.

Positions are a pure function of the validated network and the run seed, so every rank
computes the same arrays (the whole source and target populations of a spatial projection:
8 bytes x ndim per neuron) and the recorder writes them to the output file
(``/positions/<pop>``). See :mod:`distsim.spec.spatial` for the specification.
"""
import numpy as np

from ..kernels.connect import free_positions
from ..spec.spatial import EDGE_RTOL, Profile, pool_positions


def grid_positions(P):
    """float64[prod(shape) * per_position, ndim] positions of grid spec ``P`` (NEST's
    ``nest.spatial.grid`` cell centres and node order: x runs slowest, y from the top)."""
    lo, hi = P.bounds()
    if P.ndim == 1:
        (nx,), (ex,) = P.shape, P.extent
        cells = (lo[0] + (np.arange(nx) + 0.5) * (ex / nx))[:, None]
    else:
        (nx, ny), (ex, ey) = P.shape, P.extent
        ix, iy = np.divmod(np.arange(nx * ny), ny)
        cells = np.stack([lo[0] + (ix + 0.5) * (ex / nx), hi[1] - (iy + 0.5) * (ey / ny)], axis=1)
    return np.repeat(cells, P.per_position, axis=0)


def population_positions(P, gid0, n, seed):
    """float64[n, ndim] positions of a population with validated positions ``P`` whose
    first gid is ``gid0``; random free positions come from the run ``seed``."""
    if P.kind == "grid":
        return grid_positions(P)
    if P.pos is not None:
        return np.array(P.pos, dtype=np.float64).reshape(n, P.ndim)
    out = np.empty((n, P.ndim), dtype=np.float64)
    free_positions(np.uint64(seed), np.int64(gid0), np.array(P.bounds()[0]), np.array(P.extent), out)
    return out


def network_positions(net, seed):
    """dict population name -> float64[n, ndim] positions, for every population of the
    validated ``net`` that has positions."""
    ranges = net.gid_ranges()
    return {p.name: population_positions(p.positions, ranges[p.name][0], p.n, seed)
            for p in net.populations if p.positions is not None}


def displacements(pos, point, pool_P):
    """float64[n, ndim] displacements ``pos - point``, the shortest ones when the pool
    positions ``pool_P`` wrap (edge_wrap), as the connection kernels measure them."""
    d = np.asarray(pos, dtype=float) - np.asarray(point, dtype=float)
    if pool_P.edge_wrap:
        e = np.asarray(pool_P.extent)
        d = d - e * np.floor(d / e + 0.5)
    return d


def connection_probability(pr, pool_P, src_pos, tgt_point):
    """float64[n_src] probability that each source connects to a target at ``tgt_point``
    under projection ``pr``'s profile/constant p and mask (pairwise_bernoulli semantics;
    for fixed_indegree the relative weight of each source); ``pool_P``: the positions of
    the pool layer (``spec.spatial.pool_positions``). Autapses are not excluded."""
    if pr.rule == "pairwise_bernoulli":  # NEST: displacement target - source
        disp = displacements(tgt_point, src_pos, pool_P)
    else:
        disp = displacements(src_pos, tgt_point, pool_P)
    dist = np.sqrt((disp ** 2).sum(axis=1))
    p = pr.p(dist) if isinstance(pr.p, Profile) else np.full(dist.shape, 1.0 if pr.p is None else float(pr.p))
    m = pr.mask
    if m is not None:
        if m.kind == "circular":
            inside = dist <= m.radius * (1 + EDGE_RTOL)
        else:
            ll, ur = np.array(m.lower_left), np.array(m.upper_right)
            tol = EDGE_RTOL * (ur - ll)
            inside = np.all((disp >= ll - tol) & (disp <= ur + tol), axis=1)
        p = np.where(inside, p, 0.0)
    return p


def expected_pairwise_synapses(net, pr, n_sample=64, seed=0):
    """Expected number of synapses of a spatial pairwise_bernoulli projection of the
    validated ``net`` (float): the mean probability over up to ``n_sample`` evenly spaced
    targets times the pairs (random free positions taken for ``seed``); a self-projection
    without autapses leaves out each target's own probability."""
    src, tgt = net.population(pr.source), net.population(pr.target)
    ranges = net.gid_ranges()
    sp = population_positions(src.positions, ranges[src.name][0], src.n, seed)
    tp = sp if tgt is src else population_positions(tgt.positions, ranges[tgt.name][0], tgt.n, seed)
    idx = np.unique(np.linspace(0, tgt.n - 1, min(n_sample, tgt.n)).astype(np.int64))
    pool = pool_positions(pr, src, tgt)
    no_self = tgt is src and not pr.allow_autapses
    mean = np.mean([connection_probability(pr, pool, sp, tp[i]).sum()
                    - (connection_probability(pr, pool, sp[i:i + 1], tp[i])[0] if no_self else 0.0)
                    for i in idx])
    return float(mean) * tgt.n
