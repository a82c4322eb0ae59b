"""A resume given other --set values than the checkpoint's run is refused (exit 2), naming the
network field that differs and both values, before anything is built or written."""
from distsim.cli import main, spec_difference


def test_spec_difference_names_the_first_differing_field():
    a = {"populations": [{"name": "E", "params": {"tau_m": 10.0}}], "simulation": {"dt_ms": 0.1}}
    b = {"populations": [{"name": "E", "params": {"tau_m": 12.0}}], "simulation": {"dt_ms": 0.1}}
    assert spec_difference(a, a) is None
    assert spec_difference(a, b) == ("network.populations[E].params.tau_m", 10.0, 12.0)
    c = {"projections": [{"source": "E", "target": "I", "weight": 1.0}]}
    d = {"projections": [{"source": "E", "target": "I", "weight": 2.0}]}
    assert spec_difference(c, d) == ("network.projections[E->I#0].weight", 1.0, 2.0)


def test_resume_with_other_set_values_names_the_differing_key(tmp_path, capsys):
    out = str(tmp_path / "b.h5")
    base = ["run", "brunel", "--set", "order=5", "--seed", "3", "-q"]
    assert main(base + ["--t-sim", "4", "-o", out, "--checkpoint-every", "2"]) == 0
    capsys.readouterr()
    rc = main(["run", "brunel", "--set", "order=5", "--set", "eta=3.0", "--resume", out, "--t-sim", "8", "-q"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "eta=3.0" in err and "rate_Hz" in err and "in the checkpoint" in err, err
    # the same --set values resume
    assert main(["run", "brunel", "--set", "order=5", "--resume", out, "--t-sim", "8", "-q"]) == 0
