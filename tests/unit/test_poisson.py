"""Poisson drive: counts per step have the Poisson distribution and are independent across
neurons and steps."""
import numpy as np
import pytest
from numba import njit

from distsim.kernels.neurons import _poisson_step
from distsim.kernels.poisson import BRANCHLESS, cdf_table, stack_tables
from distsim.kernels.rng import TAG_POISSON, keys_per_gid


@njit(cache=False)
def _counts(steps, n, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, out):
    for s in range(steps):
        _poisson_step(s, 0, n, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12)
        out[s] = a11
    return out


def counts(mean, n=2000, steps=500, seed=7):
    tab, width = stack_tables([cdf_table(mean)])
    keys = keys_per_gid(seed, TAG_POISSON, 0, np.arange(n, dtype=np.int64))
    i64 = lambda x: np.array(x, dtype=np.int64)  # noqa: E731
    args = (i64([0]), i64([n]), i64([0]), i64([-1]), i64([0]), np.array([1.0]), i64([0]),
            i64([2 ** 62]), keys, i64([]), tab, np.zeros(n), np.zeros(n))
    return _counts(steps, n, *args, np.zeros((steps, n)))


@pytest.mark.parametrize("mean", [0.16, 1.68, 2.32, 9.0, 40.0])
def test_counts_are_poisson(mean):
    c = counts(mean)
    m, v = c.mean(), c.var()
    se = np.sqrt(mean / c.size)
    assert abs(m - mean) < 5 * se
    assert abs(v / mean - 1.0) < 0.03
    if mean < 5:  # pmf against Poisson where every bin is well populated
        k = np.arange(6)
        from scipy.stats import poisson
        freq = np.array([(c == x).mean() for x in k])
        assert np.allclose(freq, poisson.pmf(k, mean), atol=5 * np.sqrt(poisson.pmf(k, mean) / c.size) + 1e-5)


def test_large_counts_use_the_tail_of_the_table():
    c = counts(40.0, n=500, steps=200)
    assert c.max() > BRANCHLESS and abs(c.mean() - 40.0) < 0.2


def test_independent_across_neurons_and_steps():
    c = counts(1.68, n=400, steps=4000)
    x = (c - c.mean(axis=0)) / c.std(axis=0)
    cc = (x.T @ x) / c.shape[0]  # neuron-neuron correlation matrix
    off = cc[~np.eye(cc.shape[0], dtype=bool)]
    assert abs(off.mean()) < 3e-3 and off.std() < 1.3 / np.sqrt(c.shape[0])
    pop = c.sum(axis=1)  # population count per step: Fano factor 1 if independent
    assert abs(pop.var() / pop.mean() - 1.0) < 0.1
    lag = np.mean(x[1:] * x[:-1])  # consecutive steps of one neuron
    assert abs(lag) < 5 / np.sqrt(x.size)
