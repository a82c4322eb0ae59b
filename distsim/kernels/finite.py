"""The non-finite state check (pure numba): has a neuron's membrane potential become NaN or
infinite? Run once per min-delay slice on each group's first recordable (V_m where the model
has one; ``models.base.NeuronModel``), by the compiled loop (``engine.loop``) and by the Python
slice path (``engine.simulation.Simulation._slice``): NaN and inf stay in the state once there
(a NaN never crosses a threshold, so no reset clears it), so a check at the end of each slice
finds every one, at a cost of one pass over n numbers per slice instead of one per step."""
from numba import njit


@njit(cache=True)
def first_nonfinite(v):
    """Index of the first non-finite element of the 1-D float64 array ``v``, or -1.

    The common case (all finite) is one branch-free pass that LLVM vectorises: ``x - x`` is
    0.0 for every finite x and NaN for NaN and +-inf (IEEE; numba does not reassociate it
    without fastmath), and the comparisons are or-ed together. Only when that finds one is
    the array searched again for its index."""
    bad = False
    for j in range(v.shape[0]):
        bad |= (v[j] - v[j]) != 0.0
    if not bad:
        return -1
    for j in range(v.shape[0]):
        if (v[j] - v[j]) != 0.0:
            return j
    return -1
