"""Module layering: light modules stay light, and no module imports another's private names."""
import ast
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _loaded_after(stmt):
    """Names of distsim and numba modules loaded by ``stmt`` in a fresh interpreter."""
    code = (f"import sys; {stmt}; "
            "print(' '.join(m for m in sys.modules if m.startswith(('distsim', 'numba'))))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    return set(p.stdout.split())


def test_spec_does_not_load_numba_or_kernels():
    """Validating a spec needs three distribution codes, not numba (about 1 s and 60 MB)."""
    mods = _loaded_after("import distsim.spec, distsim.spec.values")
    assert "distsim.spec.values" in mods
    assert not any(m == "numba" or m.startswith(("numba.", "distsim.kernels")) for m in mods), mods


def test_spec_distribution_codes_equal_the_kernels():
    from distsim.kernels import rng
    from distsim.spec import values

    assert (values.DIST_CONST, values.DIST_NORMAL, values.DIST_UNIFORM) == \
        (rng.DIST_CONST, rng.DIST_NORMAL, rng.DIST_UNIFORM)


def _private_imports(path):
    """(module, name) of every ``from X import _name`` in a source file."""
    tree = ast.parse(open(path).read(), path)
    return [(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
            for a in n.names if a.name.startswith("_")]


def test_meanfield_cli_imports_no_private_names():
    path = os.path.join(ROOT, "distsim", "meanfield", "cli.py")
    assert _private_imports(path) == []
