"""The GSL library that NEST 3.10's wheel ships, loaded with ctypes, as a test oracle for
distsim/kernels/rkf45.py: the same rkf45 stepper, standard control and evolve loop that NEST
integrates its conductance models with. Only used by tests; None when it is not installed."""
import ctypes
import glob
import os

import numpy as np

_DP = ctypes.POINTER(ctypes.c_double)
RHS_T = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_double, _DP, _DP, ctypes.c_void_p)


class _System(ctypes.Structure):
    _fields_ = [("function", RHS_T), ("jacobian", ctypes.c_void_p),
                ("dimension", ctypes.c_size_t), ("params", ctypes.c_void_p)]


def load():
    """The libgsl of the installed NEST wheel (ctypes.CDLL), or None."""
    try:
        import nest_simulator  # noqa: F401  (a namespace without __init__ in some wheels)
    except ImportError:
        pass
    import importlib.util
    spec = importlib.util.find_spec("nest")
    if spec is None or not spec.submodule_search_locations:
        return None
    libs = os.path.join(os.path.dirname(list(spec.submodule_search_locations)[0]), "nest_simulator.libs")
    gsl = glob.glob(os.path.join(libs, "libgsl-*.so*"))
    if not gsl:
        return None
    for key in ("quadmath", "gfortran", "satlas", "gslcblas"):  # dependency order
        for f in glob.glob(os.path.join(libs, f"lib{key}*.so*")):
            ctypes.CDLL(f, mode=ctypes.RTLD_GLOBAL)
    lib = ctypes.CDLL(gsl[0])
    vp = ctypes.c_void_p
    lib.gsl_odeiv_step_alloc.restype = vp
    lib.gsl_odeiv_step_alloc.argtypes = [vp, ctypes.c_size_t]
    lib.gsl_odeiv_control_standard_new.restype = vp
    lib.gsl_odeiv_control_standard_new.argtypes = [ctypes.c_double] * 4
    lib.gsl_odeiv_evolve_alloc.restype = vp
    lib.gsl_odeiv_evolve_alloc.argtypes = [ctypes.c_size_t]
    lib.gsl_odeiv_evolve_apply.argtypes = [vp, vp, vp, ctypes.POINTER(_System), _DP, ctypes.c_double, _DP, _DP]
    lib.gsl_odeiv_control_hadjust.argtypes = [vp, vp, _DP, _DP, _DP, _DP]
    return lib


class Evolver:
    """gsl_odeiv_evolve_apply with the rkf45 stepper over a Python right-hand side
    ``rhs(y, f)`` (numpy views), as NEST sets it up."""

    def __init__(self, lib, dim, rhs, ctl):
        self.lib, self.dim = lib, dim

        def f(t, y, dydt, _):
            rhs(np.ctypeslib.as_array(y, (dim,)), np.ctypeslib.as_array(dydt, (dim,)))
            return 0

        self._f = RHS_T(f)  # keep the callback alive
        self.sys = _System(self._f, None, dim, None)
        step_type = ctypes.c_void_p.in_dll(lib, "gsl_odeiv_step_rkf45").value
        self.s = lib.gsl_odeiv_step_alloc(step_type, dim)
        self.c = lib.gsl_odeiv_control_standard_new(*ctl)
        self.e = lib.gsl_odeiv_evolve_alloc(dim)

    def apply(self, y, t, t1, h):
        """One gsl_odeiv_evolve_apply; y (float64 array) in place; returns (t, h)."""
        tt, hh = ctypes.c_double(t), ctypes.c_double(h)
        st = self.lib.gsl_odeiv_evolve_apply(self.e, self.c, self.s, ctypes.byref(self.sys), ctypes.byref(tt),
                                             t1, ctypes.byref(hh), y.ctypes.data_as(_DP))
        assert st == 0, st
        return tt.value, hh.value

    def hadjust(self, y, yerr, yp, h):
        """gsl_odeiv_control_hadjust: (status, new h)."""
        hh = ctypes.c_double(h)
        st = self.lib.gsl_odeiv_control_hadjust(self.c, self.s, y.ctypes.data_as(_DP), yerr.ctypes.data_as(_DP),
                                                yp.ctypes.data_as(_DP), ctypes.byref(hh))
        return st, hh.value
