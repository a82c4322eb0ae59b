"""scripts/validate_microcircuit.py end to end with small settings (2 seeds each, 1 s).

Slow (two NEST and two distsim runs of the N_scaling=0.1 microcircuit, about 1-5 minutes
on 2 cores): run with ``pytest -m slow tests/validation/test_microcircuit_validation.py``.
Checks that the outputs are produced and every population has finite KS distances; whether
the entries pass is not asserted (with 2 seeds and 1 s the criterion is too noisy).
"""
import json
import math
import os
import subprocess
import sys

import pytest

pytest.importorskip("nest", reason="NEST 3.10 (pip install nest-simulator) is the reference")
pytest.importorskip("scipy")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "validate_microcircuit.py")
POPS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
STATS = ["rate", "cv", "cc"]

pytestmark = [pytest.mark.slow, pytest.mark.validation]


@pytest.fixture
def only_when_selected(request):
    """Skip unless slow tests were asked for (``-m slow``): a plain ``pytest`` run stays fast."""
    if "slow" not in (request.config.getoption("markexpr", "") or ""):
        pytest.skip("slow end-to-end validation: run with -m slow")


@pytest.mark.timeout(3600)
def test_validation_script_small(tmp_path, only_when_selected):
    out = tmp_path / "validation"
    p = subprocess.run([sys.executable, SCRIPT, "--seeds", "2", "--t-sim", "1000", "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    for name in ("report.md", "validation.json", "validation.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name

    report = (out / "report.md").read_text()
    for pop in POPS:
        for st in STATS:
            assert f"| {pop} | {st} |" in report

    js = json.loads((out / "validation.json").read_text())
    assert js["config"]["seeds"] == 2 and js["config"]["t_sim"] == 1000.0
    for pop in POPS:
        for st in STATS:
            r = js["distances"][pop][st]
            # 2 seeds: one NEST-NEST pair, two distsim-NEST pairs (i != j)
            assert r["NN"]["n"] == 1 and r["DN"]["n"] == 2 and r["DD"]["n"] == 1
            for key in ("NN", "DN", "DD"):
                vals = r[key]["values"]
                assert vals and all(v is not None and math.isfinite(v) and 0.0 <= v <= 1.0 for v in vals), \
                    (pop, st, key, vals)
            assert isinstance(r["pass"], bool)
        for sim in ("distsim", "nest"):
            rates = js["mean_rates"][sim][pop]
            assert len(rates) == 2 and all(v is not None and v > 0 for v in rates), (sim, pop, rates)
