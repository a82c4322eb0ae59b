"""pytest plugin for scripts/pynn_scenarios.py: PyNN's scenario tests (test/system/scenarios
of the PyNN 0.13.0 sdist) run with ``sim = distsim.pynn`` wherever PyNN enables them for NEST;
the others are deselected (they are not counted)."""
import pytest


def pytest_collection_modifyitems(session, config, items):
    import distsim.pynn
    keep, drop = [], []
    for item in items:
        cs = getattr(item, "callspec", None)
        sim = cs.params.get("sim") if cs is not None else None
        if sim is not None and str(sim) == "pyNN.nest":
            cs.params["sim"] = distsim.pynn
            keep.append(item)
        else:
            drop.append(item)
    items[:] = keep
    config.hook.pytest_deselected(items=drop)


@pytest.fixture(autouse=True)
def _fresh_setup():
    """Every scenario calls sim.setup(); nothing to do between them."""
    yield
