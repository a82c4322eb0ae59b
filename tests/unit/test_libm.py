"""Numbers computed outside the kernels have the same bits on every CPU (distsim/kernels/libm.py).

numpy evaluates float64 exp/log of arrays with its own AVX-512 code where the CPU has it and
with the C library elsewhere; the two differ in the last bit for some arguments, which made
V_m traces depend on the machine. Python's ``math`` functions are the C library's, so each
check below compares with them element by element, bit for bit.
"""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from distsim.kernels import libm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _args(n=20000, seed=3):
    rng = np.random.default_rng(seed)
    return np.concatenate([-rng.uniform(1e-6, 5.0, n), rng.uniform(-700.0, 700.0, n)])


@pytest.mark.parametrize("name", ["exp", "expm1"])
def test_equals_c_library_elementwise(name):
    x = _args()
    got = getattr(libm, name)(x)
    want = np.array([getattr(math, name)(v) for v in x])
    assert got.dtype == np.float64 and got.shape == x.shape
    assert np.array_equal(got.view(np.int64), want.view(np.int64))


def test_log_and_shapes():
    x = np.abs(_args()).reshape(2, -1) + 1e-300
    got = libm.log(x)
    assert got.shape == x.shape
    assert np.array_equal(got.ravel().view(np.int64), np.array([math.log(v) for v in x.ravel()]).view(np.int64))
    assert libm.log(0.0) == -math.inf and math.isnan(libm.log(-1.0))
    assert isinstance(libm.exp(0.5), np.float64) and libm.exp(0.5) == math.exp(0.5)


def test_propagators_and_poisson_tables_use_the_c_library():
    from distsim.kernels.neurons import propagators_psc_exp
    from distsim.kernels.poisson import cdf_table
    tau_m = np.linspace(5.0, 30.0, 4001)
    P22, P11, _ = propagators_psc_exp(0.1, tau_m, np.full_like(tau_m, 0.5), np.full_like(tau_m, 250.0))
    assert np.array_equal(P22, [math.exp(-0.1 / t) for t in tau_m])
    mean = 3.7
    cdf = cdf_table(mean)
    k = np.arange(cdf.size, dtype=np.float64)
    pmf = [math.exp(-mean + kk * math.log(mean) - math.lgamma(kk + 1.0)) for kk in k]
    want = np.cumsum(pmf)
    want[-1] = 1.0
    assert np.array_equal(cdf, want)


def _has_avx512_dispatch():
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as f
    except ImportError:  # pragma: no cover - numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as f
    return bool(f.get("AVX512F"))


@pytest.mark.skipif(not _has_avx512_dispatch(), reason="numpy has no AVX-512 code path on this CPU")
def test_traces_do_not_depend_on_numpys_cpu_dispatch():
    """gif_meso (propagators, history kernels, Poisson tables) gives the same spikes and traces
    with numpy's AVX-512 code switched off: before kernels/libm.py its digest changed."""
    code = ("import sys; sys.path[:0] = ['tests', 'tests/unit'];"
            "from test_driver_bit_identity import fingerprint; print(fingerprint('gif_meso')[0])")
    out = []
    for disable in (None, "X86_V4 AVX512_ICL AVX512_SKX"):
        env = dict(os.environ)
        env.pop("NPY_DISABLE_CPU_FEATURES", None)
        if disable:
            env["NPY_DISABLE_CPU_FEATURES"] = disable
        r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        out.append(r.stdout.strip().splitlines()[-1])
    assert out[0] == out[1]
