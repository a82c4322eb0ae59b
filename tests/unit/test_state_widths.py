"""load_state takes 2-D state variables of another width than this rank's group: a
gif_pop_psc_exp history [node, bins] is as wide as the longest history of a rank's nodes, so
a state saved on other ranks has other widths (zero beyond each node's own bins)."""
import numpy as np
import pytest

from distsim.cli import load_model
from distsim.engine import Simulation

SETS = {"form": "meso", "size": "20", "populations.I.params.tau_sfa": "[100.0, 300.0]"}


def test_load_state_fits_history_widths_of_other_rank_counts():
    sim = Simulation(load_model("gif_populations", SETS), seed=5)
    sim.run(10.0)
    L = sim.groups[0].cal["L"]
    assert L.tolist() == [2772, 1009]  # one group, two widths: the group's is 2772
    st = sim.state_dict()
    ref = {p: {k: v.copy() for k, v in vs.items()} for p, vs in st["state"].items()}
    # as a rank holding only I's node (width 1009), and as one holding none (width 1), saved
    narrow = dict(st, state={p: dict(vs) for p, vs in st["state"].items()})
    narrow["state"]["I"]["n_hist"] = ref["I"]["n_hist"][:, :1009].copy()
    wide = dict(st, state={p: dict(vs) for p, vs in st["state"].items()})
    wide["state"]["I"]["m_hist"] = np.pad(ref["I"]["m_hist"], ((0, 0), (0, 3000 - 2772)))
    for s in (narrow, wide):
        sim.load_state(s)
        for p in ref:
            for k, v in ref[p].items():
                assert np.array_equal(sim.state_dict()["state"][p][k], v), (p, k)
    bad = dict(st, state={p: dict(vs) for p, vs in st["state"].items()})
    bad["state"]["E"]["n_hist"] = np.pad(ref["E"]["n_hist"], ((0, 0), (0, 5)), constant_values=1.0)
    with pytest.raises(ValueError, match="E.n_hist"):
        sim.load_state(bad)  # surplus columns that are not zero: not a padded history
