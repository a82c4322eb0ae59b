"""The built-in COBA benchmark (iaf_cond_exp) and the AdEx Brunel network (aeif_cond_exp, distsim
on 2 MPI ranks) against NEST 3.10, side by side in one run: population rates and mean ISI CVs
over seeds, the difference of the seed means within the seed-to-seed spread (two-sample t-test,
1% false-alarm rate; the seeds are fixed, so the test is deterministic).

CI-sized versions of ``scripts/coba_validation.py`` (5 seeds, 1 s there): short runs and 3 seeds
each. The windows start after the start-up transient (COBA: the 50 ms initial stimulation).
"""
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
nest = pytest.importorskip("nest", reason="NEST 3.10 (pip install nest-simulator) is the reference")
from nest_builders import markdown, validate  # noqa: E402

pytestmark = [pytest.mark.validation, pytest.mark.timeout(900)]


def _check(res):
    print(markdown(res))
    bad = {k: c for k, c in res["comparison"].items() if not c["ok"]}
    assert not bad, f"outside the seed-to-seed spread: {bad}"
    for p in ("E", "I"):  # the comparison means something only with activity in both
        assert res["comparison"][f"{p}/rate"]["ref_mean"] > 1.0


def test_coba_rates_and_cvs_within_nest_spread():
    _check(validate("coba", seeds=3, t_sim=200.0, t_start=50.0, progress=False))


@pytest.mark.skipif(shutil.which("mpirun") is None, reason="needs mpirun")
def test_adex_brunel_on_2_ranks_within_nest_spread():
    _check(validate("adex_brunel", seeds=3, t_sim=300.0, t_start=100.0, overrides={"order": "100"}, ranks=2,
                    progress=False))
