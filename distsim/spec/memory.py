"""Memory per rank estimated from a validated Network before anything is allocated, and the
memory the ranks of this node may use.

The estimate follows what the build allocates (``distsim.connectivity``, ``engine``):

* synapses: 4 (uint32 target) + 4 (float32 weight) + 1 (uint8 delay; 2 when a delay can
  exceed 254 steps) bytes each, the targets spread round-robin over the ranks; every rank
  also holds the row pointers (int64 per neuron of the network) and, while filling, a copy
  of them; ``fixed_total_number`` projections keep an int64 count per target neuron;
* plastic projections (``distsim.synapses``): a float64 weight instead of float32 and no
  delay per synapse when it is a constant (12 bytes), 24 bytes per source neuron, and
  float64 events (12 bytes);
* neurons: per local neuron the state and input rows (float64), the spike output and send
  buffers (3 int64 per neuron and step of the shortest delay, twice), Poisson stream keys;
  parameters drawn from distributions are per neuron, shared ones one value;
* pending synaptic events (8 bytes each): local synapses x rate x the time a spike stays
  in the lists (longest delay + one slice) x ``EVENT_PEAK_FACTOR`` (onset synchrony, pool
  growth), with the reference rate of each population when the model has one, else 20
  spikes/s;
* a fixed cost per process (Python, numpy, numba's compiled kernels, MPI, h5py), measured.

Calibrated against measured peak RSS (see the README, "Memory check").
"""
import math
import os

from .spatial import is_spatial
from .values import bounds

#: resident memory of one distsim process before the network (Python, numpy, numba
#: kernels, mpi4py, h5py), bytes; measured: peak RSS 243 MiB of a 5-neuron ``distsim run``
FIXED_BYTES = 240 * 2 ** 20
#: spikes/s assumed for populations without a reference rate (pending-event lists)
DEFAULT_RATE_HZ = 20.0
#: pending events at their peak over the mean-rate count (synapses x rate x window): the
#: synchronous onset of a network started from equal V_m, and the event pool growing by 25%
#: steps and never shrinking. Measured 4-6 (Brunel order 2500 and 5000, microcircuit 0.1)
EVENT_PEAK_FACTOR = 6.0
#: the estimate is multiplied by this before it is compared (allocator slack, temporaries;
#: the estimate was 2-10 % above the measured peak RSS in the calibration runs)
SAFETY = 1.1


def _expected_synapses(pr, n_src, n_tgt):
    """Expected number of synapses of a projection (float)."""
    same = pr.source == pr.target
    if pr.rule == "fixed_indegree":
        return float(pr.indegree) * n_tgt
    if pr.rule == "fixed_total_number":
        return float(pr.n_total)
    if pr.rule == "from_list":
        return float(len(pr.connections["source"]))
    if pr.rule == "one_to_one":
        return 0.0 if (same and not pr.allow_autapses) else float(n_tgt)
    pairs = float(n_src) * n_tgt - (n_tgt if same and not pr.allow_autapses else 0)
    if pr.rule == "pairwise_bernoulli":
        return pr.p * pairs
    return pairs  # all_to_all


def _delay_steps(v, dt):
    """(shortest, longest) delay in steps a delay Value can give (an unbounded normal: mean
    +- 5 std)."""
    lo, hi = bounds(v)
    if v.kind == 1:  # normal
        lo = max(lo, v.a - 5 * v.b)
        hi = min(hi, v.a + 5 * v.b)
    return max(1, int(round(lo / dt))), max(1, int(round(hi / dt)))


def estimate(net, n_ranks):
    """Estimated peak bytes of the busiest rank for ``net`` (validated) on ``n_ranks``.

    Returns a dict: ``n_synapses`` (expected total), ``synapse_bytes``, ``neuron_bytes``,
    ``event_bytes``, ``fixed_bytes``, ``total_bytes`` (per rank, before ``SAFETY``).
    """
    from ..models import MODELS

    dt = net.dt_ms
    N = net.n_neurons
    sizes = {p.name: p.n for p in net.populations}
    rates = dict(net.reference_rates or {})
    n_syn = 0.0
    syn_rates = []  # (expected synapses, spikes/s of the source) per projection
    dmin, dmax = None, 1
    total_split = 0
    wide = False
    plastic_extra = 0.0  # bytes beyond a static synapse's (distsim.connectivity.plastic)
    plastic_events = 0.0  # and beyond a static event's
    for pr in net.projections:
        if pr.rule == "pairwise_bernoulli" and is_spatial(pr):  # mean p over sampled targets
            from ..connectivity.spatial import expected_pairwise_synapses
            s = expected_pairwise_synapses(net, pr)
        else:
            s = _expected_synapses(pr, sizes[pr.source], sizes[pr.target])
        n_syn += s
        syn_rates.append((s, float(rates.get(pr.source, DEFAULT_RATE_HZ))))
        lo, hi = _delay_steps(pr.delay_ms, dt)
        dmin = lo if dmin is None else min(dmin, lo)
        dmax = max(dmax, hi)
        wide = wide or hi > 254
        if pr.rule == "fixed_total_number":
            total_split += sizes[pr.target]
        if getattr(pr, "synapse", None) is not None:
            # float64 weight (+4), a per-synapse delay only when it is not a constant (-1),
            # per source the row pointer and two state values; events hold float64 (+4)
            d_const = pr.delay_ms.is_constant
            plastic_extra += (s / n_ranks) * (3 if d_const else 4) + 24 * sizes[pr.source]
            plastic_events += 4 * (s / n_ranks) * min(1.0, EVENT_PEAK_FACTOR * float(
                rates.get(pr.source, DEFAULT_RATE_HZ)) * 1e-3 * (_delay_steps(pr.delay_ms, dt)[1] + 1) * dt)
    dmin = dmin or max(1, int(round(1.0 / dt)))
    per_rank = lambda x: math.ceil(x / n_ranks)  # noqa: E731 - round-robin targets
    syn_local = per_rank(n_syn)
    synapse_bytes = (syn_local * (10 if wide else 9) + 2 * 8 * (N + 1) + 8 * total_split
                     + int(plastic_extra))
    n_poisson = sum(1 for d in net.devices if d.type == "poisson_generator")
    neuron_bytes = 0
    for p in net.populations:
        m = MODELS[p.model]
        n_state = len(getattr(m, "state_names", ())) or 10
        per_neuron = sum(1 for v in p.params.values() if hasattr(v, "is_constant") and not v.is_constant)
        if per_neuron:  # every parameter and propagator becomes an array
            per_neuron = len(m.params) + 8
        nb = 8 * (n_state + per_neuron + 2 * dmin + 6 * dmin + n_poisson + 3) + 1
        nb += 16 * sum(len(m.list_value(p.params, k)) for k in m.list_params)  # adaptation
        neuron_bytes += per_rank(p.n) * nb
    window_ms = (dmax + dmin) * dt
    # an event waits at most the window; a spike of each source at most every window
    pending = sum(s * min(1.0, EVENT_PEAK_FACTOR * r * 1e-3 * window_ms) for s, r in syn_rates)
    event_bytes = 8 * per_rank(pending) + 16 * 1024 * 2 * (dmax + dmin) + int(plastic_events)
    total = FIXED_BYTES + synapse_bytes + neuron_bytes + event_bytes
    return {"n_synapses": int(round(n_syn)), "synapse_bytes": int(synapse_bytes),
            "neuron_bytes": int(neuron_bytes), "event_bytes": int(event_bytes),
            "fixed_bytes": FIXED_BYTES, "total_bytes": int(total)}


def _read_int(path):
    try:
        with open(path) as f:
            s = f.read().strip()
    except OSError:
        return None
    return int(s) if s.isdigit() else None


def node_available_bytes(root="/"):
    """(bytes this node can still give processes, text saying where that number comes from):
    MemAvailable of /proc/meminfo, or less when this process's cgroup (SLURM, containers)
    has a memory limit (limit minus current usage; cgroup v2 or v1). ``root``: where /proc
    and /sys are (tests)."""
    P = lambda *a: os.path.join(root, *[x.lstrip("/") for x in a])  # noqa: E731
    avail, src = None, "MemAvailable"
    try:
        with open(P("proc/meminfo")) as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        with open(P("proc/self/cgroup")) as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":  # cgroup v2
            base = P("sys/fs/cgroup", parts[2])
            limit, usage = _read_int(base + "/memory.max"), _read_int(base + "/memory.current")
            if limit is None:  # inside a cgroup namespace: the files are at the mount point
                limit, usage = _read_int(P("sys/fs/cgroup/memory.max")), _read_int(P("sys/fs/cgroup/memory.current"))
        elif "memory" in parts[1].split(","):  # cgroup v1
            base = P("sys/fs/cgroup/memory", parts[2])
            limit, usage = _read_int(base + "/memory.limit_in_bytes"), _read_int(base + "/memory.usage_in_bytes")
            if limit is None:
                limit = _read_int(P("sys/fs/cgroup/memory/memory.limit_in_bytes"))
                usage = _read_int(P("sys/fs/cgroup/memory/memory.usage_in_bytes"))
        else:
            continue
        if limit is not None and limit < 2 ** 60 and usage is not None:
            free = max(0, limit - usage)
            if avail is None or free < avail:
                avail, src = free, f"cgroup limit {limit / 2 ** 30:.1f} GiB minus usage"
    return avail, src


def current_rss_bytes():
    """Resident memory of this process now (bytes), 0 if unknown."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def gib(x):
    """Bytes as a short GiB string."""
    return f"{x / 2 ** 30:.2f} GiB"
