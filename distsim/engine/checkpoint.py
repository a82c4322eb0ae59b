"""Checkpoint and restore the complete dynamic state of a Simulation, keyed by gid.

What a run needs to continue exactly: the step counter, every neuron's state variables
(membrane potential, synaptic currents, current input, refractory counter), the network
input still on its way (every pending event: arrival slot, target gid, weight, in list
order) and the current-input rows. Random numbers need no state: every
draw is addressed by (seed, stream, step). Spikes in flight are already in the event lists at
a slice boundary, which is the only place a checkpoint is taken.

Everything is stored by gid, not by rank, so a checkpoint written with N ranks restores on
any number of ranks. The file (HDF5, beside the output: ``OUT.h5.ckpt``) is written to a
temporary name and renamed, so a run killed while checkpointing keeps the previous
checkpoint intact; a write that fails removes the temporary file.

Scaling: with parallel h5py (the ``mpio`` driver) every rank writes its own neurons' state
(a strided hyperslab: gid % size == rank) and its own pending events (one contiguous block,
blocks in rank order) collectively into the one file; no rank gathers anything. The
datasets are filtered (fletcher32), which parallel HDF5 (>= 1.10.2, checked with 1.10.8 and
MPICH) writes only collectively, so every rank joins every write, with an empty selection
if it has nothing. Without parallel h5py, on one rank, or for a checkpoint smaller than
GATHER_MAX_BYTES (where the collective rounds cost more than the gather) rank 0 gathers
the states and writes the same layout. On restore each rank reads only the neurons it owns and 1/size of
each pending list (a contiguous block), and one Alltoallv brings each event to the rank
that owns its target: no rank reads or holds more than its share, for any rank count.

Integrity: every dataset carries an HDF5 fletcher32 checksum, and the header (all attributes,
the recorder positions and every dataset's name, shape and type) a SHA-256 (``header_sha256``).
:func:`read_checked` verifies both and raises a SpecError naming the file and the dataset.

Layout::
  /            attrs: format, step, seed, dt_ms, n_neurons, n_ranks_written,
               n_threads_written (information only: any number of ranks and threads
               resumes it), spec_json, spec_sha256, run_id, ring_slots, header_sha256
  /state/<population>/<variable>   [population size] by gid offset
  /pending/<kind>/slot, /gid, /value   pending events (kind: single, multiple), list order,
                        slot = arrival step % ring_slots; records of plastic synapses in the
                        same form (kinds plastic<pid>, hist, hist_count: engine.plastic)
  /ring/cur             current-input rows [min delay or 0, n_neurons] by gid
  /recorder    attrs written by the recorder (positions in the output file, t_presim_ms,
               recording, overwrite)
"""
import contextlib
import hashlib
import json
import os

import numpy as np

from ..partition import local_gids
from ..recording.identity import spec_json, spec_sha256
from ..spec import SpecError

FORMAT = 2  # 1: before run ids and checksums (refused: it cannot be verified)
PENDING_KINDS = ("single", "multiple")  # event lists: ordinary, with a multiplicity
# (plastic synapses add their own record kinds keyed by target gid: engine.plastic.add_state)
PENDING_FIELDS = ("slot", "gid", "value")  # per pending event
PENDING_DTYPES = (np.int64, np.int64, np.float64)


def checkpoint_path(output_path):
    """Path of the checkpoint file that belongs to an output file."""
    return os.fspath(output_path) + ".ckpt"


def _spec_json(net):
    return spec_json(net)


def _plain(v):
    """An attribute value as a JSON-able Python value (the same before and after HDF5)."""
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _header_digest(f):
    """SHA-256 over every attribute of the root and /recorder (but header_sha256) and the
    name, shape and type of every dataset of an open checkpoint file."""
    import h5py

    root = {k: _plain(v) for k, v in f.attrs.items() if k != "header_sha256"}
    rec = {k: _plain(v) for k, v in f["recorder"].attrs.items()} if "recorder" in f else None
    shapes = {}
    f.visititems(lambda name, obj: shapes.__setitem__(name, [list(obj.shape), obj.dtype.str])
                 if isinstance(obj, h5py.Dataset) else None)
    text = json.dumps({"attrs": root, "recorder": rec, "datasets": shapes}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _dataset(f, name, data):
    """A dataset with an HDF5 fletcher32 checksum (chunked; extendible so that empty arrays
    can be chunked too)."""
    data = np.ascontiguousarray(data)
    return f.create_dataset(name, data=data, fletcher32=True, chunks=True,
                            maxshape=(None,) * data.ndim)


def _header_attrs(sim, state, run_id):
    """Root attributes of a checkpoint of ``sim`` whose state is ``state`` (a state_dict;
    the same on every rank)."""
    text = _spec_json(sim.net)
    return {"format": FORMAT, "step": int(state["step"]), "seed": sim.seed, "dt_ms": sim.dt,
            "n_neurons": sim.n_neurons, "n_ranks_written": sim.size,
            "n_threads_written": int(getattr(sim, "threads", 1)), "spec_json": text,
            "spec_sha256": spec_sha256(text), "run_id": str(run_id or ""),
            "ring_slots": int(state["ring_slots"])}


def _finish(f, recorder_attrs):
    """Write the /recorder attributes and the header checksum (last: it covers the rest)."""
    rg = f.create_group("recorder")
    for k, v in (recorder_attrs or {}).items():
        rg.attrs[k] = v
    f.attrs["header_sha256"] = _header_digest(f)


def _write(path, sim, parts, recorder_attrs, run_id):
    """Write the checkpoint from every rank's ``state_dict`` (``parts``, rank order) on one
    process (the gather mode)."""
    import h5py

    size = sim.comm.size
    with h5py.File(path, "w") as f:
        for k, v in _header_attrs(sim, parts[0], run_id).items():
            f.attrs[k] = v
        for name, variables in parts[0]["state"].items():
            a, b = sim.gid_ranges[name]
            grp = f.create_group(f"state/{name}")
            for var, arr in variables.items():
                full = np.empty((b - a,) + arr.shape[1:], dtype=arr.dtype)
                for r in range(size):
                    full[local_gids(a, b, r, size) - a] = parts[r]["state"][name][var]
                _dataset(grp, var, full)
        full = np.empty((parts[0]["ring_cur"].shape[0], sim.n_neurons))
        for r in range(size):
            full[:, r::size] = parts[r]["ring_cur"]
        _dataset(f, "ring/cur", full)
        for kind in parts[0]["pending"]:
            for i, name in enumerate(PENDING_FIELDS):
                _dataset(f, f"pending/{kind}/{name}",
                         np.concatenate([parts[r]["pending"][kind][i] for r in range(size)]))
        _finish(f, recorder_attrs)


def _collective_write(ds, data, start=(), stride=()):
    """Write ``data`` into the block of ``ds`` at ``start`` (per axis; missing axes: 0) with
    ``stride`` (missing: 1), collectively (every rank calls it, with an empty ``data`` too:
    HDF5 writes filtered datasets only collectively, and h5py skips empty selections)."""
    from h5py import h5fd, h5p, h5s

    if ds.size == 0:  # the same on every rank: nobody writes (a collective write costs ~ms)
        return
    dxpl = h5p.create(h5p.DATASET_XFER)
    dxpl.set_dxpl_mpio(h5fd.MPIO_COLLECTIVE)
    fspace = ds.id.get_space()
    data = np.ascontiguousarray(data, dtype=ds.dtype)
    if data.size == 0:
        fspace.select_none()
        mspace = h5s.create_simple((1,))
        mspace.select_none()
        data = np.zeros(1, ds.dtype)
    else:
        nd = len(ds.shape)
        start = tuple(start) + (0,) * (nd - len(start))
        stride = tuple(stride) + (1,) * (nd - len(stride))
        fspace.select_hyperslab(start, data.shape, stride)
        mspace = h5s.create_simple(data.shape)
    ds.id.write(mspace, fspace, data, dxpl=dxpl)


PARALLEL_CHUNK_BYTES = 1 << 20  # about this many bytes per chunk in the parallel write


def _parallel_chunks(shape, dtype):
    """Chunk shape for a collectively written dataset: the whole shape, its largest axis
    halved until a chunk holds at most PARALLEL_CHUNK_BYTES (parallel HDF5 pays per chunk for
    filtered collective writes, so chunks are larger than h5py's guess). Depends only on
    shape and dtype, so every rank creates the same dataset."""
    chunk = [max(int(x), 1) for x in shape]
    while np.prod(chunk, dtype=np.int64) * np.dtype(dtype).itemsize > PARALLEL_CHUNK_BYTES \
            and max(chunk) > 1:
        k = int(np.argmax(chunk))
        chunk[k] = (chunk[k] + 1) // 2
    return tuple(chunk)


def _empty_dataset(f, name, shape, dtype):
    """A dataset like ``_dataset``'s (fletcher32, chunked, extendible) with no data yet and
    no fill-value write at allocation (every element is written next)."""
    return f.create_dataset(name, shape=shape, dtype=dtype, fletcher32=True,
                            chunks=_parallel_chunks(shape, dtype), maxshape=(None,) * len(shape),
                            fill_time="never")


def _write_mpio(path, sim, local, recorder_attrs, run_id):
    """Write the checkpoint collectively with the mpio driver: every rank its own neurons'
    state (strided by gid) and its own pending events (a contiguous block, in rank order)."""
    import h5py

    comm, rank, size = sim.comm, sim.rank, sim.size
    kinds = list(local["pending"])
    counts = np.array(comm.allgather([local["pending"][k][0].size for k in kinds]),
                      np.int64).reshape(size, len(kinds))
    with h5py.File(path, "w", driver="mpio", comm=comm.mpi_comm) as f:
        for k, v in _header_attrs(sim, local, run_id).items():
            f.attrs[k] = v
        for name, variables in local["state"].items():
            a, b = sim.gid_ranges[name]
            first = (rank - a) % size  # offset of this rank's first gid of the population
            for var, arr in variables.items():
                ds = _empty_dataset(f, f"state/{name}/{var}", (b - a,) + arr.shape[1:], arr.dtype)
                _collective_write(ds, arr, (first,), (size,))
        rc = local["ring_cur"]
        ds = _empty_dataset(f, "ring/cur", (rc.shape[0], sim.n_neurons), np.float64)
        _collective_write(ds, rc, (0, rank), (1, size))
        for i, kind in enumerate(kinds):
            total, off = int(counts[:, i].sum()), int(counts[:rank, i].sum())
            for j, name in enumerate(PENDING_FIELDS):
                arr = local["pending"][kind][j]
                ds = _empty_dataset(f, f"pending/{kind}/{name}", (total,), PENDING_DTYPES[j])
                _collective_write(ds, arr, (off,))
        _finish(f, recorder_attrs)


#: a checkpoint whose arrays (all ranks) are smaller is gathered to rank 0, which writes it:
#: faster than parallel HDF5's collective filtered writes (a few collective rounds per
#: dataset), and small enough for rank 0 to hold
GATHER_MAX_BYTES = 32 << 20


def _nbytes(state):
    """Bytes of the arrays of a state_dict."""
    arrays = [a for v in state["state"].values() for a in v.values()]
    arrays += [a for v in state["pending"].values() for a in v] + [state["ring_cur"]]
    return int(sum(a.nbytes for a in arrays))


def parallel_mode(comm, n_bytes=None):
    """True when a checkpoint of ``n_bytes`` (all ranks; None: any size) is written
    collectively: h5py with MPI, more than one MPI rank, and at least GATHER_MAX_BYTES.
    False: gathered to rank 0, which writes."""
    from ..recording.hdf5 import h5py_has_mpi

    return (comm.size > 1 and comm.mpi_comm is not None and h5py_has_mpi()
            and (n_bytes is None or n_bytes >= GATHER_MAX_BYTES))


def _common_widths(comm, state):
    """``state`` (a state_dict) with every 2-D state variable padded with zero columns to its
    widest on any rank (collective). The width of a [neuron, component] variable is the
    longest of a group's neurons on one rank (gif_pop_psc_exp's history: a rank holding none
    of the nodes has width 1), but a dataset has one width, written from every rank;
    ``Simulation.load_state`` fits it back to each rank's width."""
    wide = {(name, var): arr.shape[1] for name, variables in state["state"].items()
            for var, arr in variables.items() if arr.ndim == 2}
    if not wide:  # the same on every rank: the variables do not depend on the rank
        return state
    widths = comm.allgather(wide)
    out = dict(state, state={name: dict(variables) for name, variables in state["state"].items()})
    for (name, var), w in wide.items():
        W = max(x[(name, var)] for x in widths)
        if W > w:
            arr = out["state"][name][var]
            padded = np.zeros((arr.shape[0], W), arr.dtype)
            padded[:, :w] = arr
            out["state"][name][var] = padded
    return out


def save(sim, path, recorder_attrs=None, run_id=""):
    """Collectively write ``sim``'s state to ``path`` (``run_id`` is the run's identity, see
    ``distsim.recording.identity``). Returns the step saved.

    With parallel h5py and a checkpoint of at least GATHER_MAX_BYTES every rank writes its
    own neurons and events into the one file (no rank holds more than its own state);
    otherwise the states are gathered to rank 0, which writes. Either way the file is written under a temporary name and renamed when complete.
    If the write fails (disk full, ...) the temporary file is removed and the previous
    checkpoint stays: in the gather mode the error is raised on every rank; in the parallel
    mode on the rank(s) where it happened (the CLI then ends the whole job, as for any
    one-rank failure: the others may be waiting in HDF5's collective calls)."""
    comm = sim.comm
    local = _common_widths(comm, sim.state_dict())
    tmp = path + ".tmp"
    if parallel_mode(comm, comm.allreduce_sum(_nbytes(local))):
        try:
            _write_mpio(tmp, sim, local, recorder_attrs, run_id)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        parts = None
    else:
        parts = comm.gather(local, root=0)
    err = None
    if comm.rank == 0:
        try:
            if parts is not None:
                _write(tmp, sim, parts, recorder_attrs, run_id)
            os.replace(tmp, path)
        except BaseException as e:
            err = e
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    msg = comm.bcast(None if err is None else f"{type(err).__name__}: {err}")
    if err is not None:
        raise err
    if msg is not None:
        raise OSError(f"writing checkpoint {path} failed on rank 0: {msg}")
    return sim.step


def read_recorder_attrs(path):
    """dict of the recorder positions stored in a checkpoint."""
    import h5py

    with h5py.File(path, "r") as f:
        return dict(f["recorder"].attrs)


def read_header(path):
    """(step, seed, spec dict) of a checkpoint; raises SpecError if it is missing or broken."""
    h = read_checked(path, verify_data=False)
    return h["step"], h["seed"], h["spec"]


def _read(f, name, path, sel=Ellipsis):
    """f[name][sel], with a checksum failure or a missing dataset raised as a SpecError."""
    try:
        return f[name][sel]
    except KeyError:
        raise SpecError("--resume", path, f"checkpoint lacks dataset /{name}") from None
    except OSError as e:
        raise SpecError("--resume", path, f"checkpoint dataset /{name} is corrupt "
                                          f"(HDF5 checksum or read failure: {e})") from None


def _check_header(f, path):
    if int(f.attrs.get("format", 1)) < FORMAT or "header_sha256" not in f.attrs:
        raise SpecError("--resume", path, "checkpoint was written by an older distsim, without run "
                                          "identity and checksums; it cannot be verified: start the "
                                          "run again")
    if _plain(f.attrs["header_sha256"]) != _header_digest(f):
        raise SpecError("--resume", path, "checkpoint header is corrupt (header_sha256 does not "
                                          "match its attributes and datasets)")


def read_checked(path, verify_data=True):
    """Header of a checkpoint after verifying its header checksum and (``verify_data``) every
    dataset's fletcher32 checksum (read chunk by chunk). Returns a dict: path, step, seed,
    spec (dict), spec_json, spec_sha256, run_id, recorder (attrs dict), positions (dict of
    output positions, None if nothing was recorded yet), t_presim_ms, overwrite (bool).
    Raises SpecError naming the file (and dataset) if it is missing, unreadable or corrupt."""
    import h5py

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise SpecError("--resume", path, "has no checkpoint beside it (run with --checkpoint-every "
                                          "or stop it with SIGTERM to write one)")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise SpecError("--resume", path, f"checkpoint is not readable: {e}") from None
    with f:
        try:
            _check_header(f, path)
            if verify_data:
                for name in _dataset_names(f):
                    ds = f[name]
                    for sel in (ds.iter_chunks() if ds.size else ()):
                        _read(f, name, path, sel)
            attrs = {k: _plain(v) for k, v in f.attrs.items()}
            rec = {k: _plain(v) for k, v in f["recorder"].attrs.items()}
        except KeyError as e:
            raise SpecError("--resume", path, f"checkpoint is not readable: {e}") from None
    positions = ({k: v for k, v in rec.items() if k.startswith(("spikes/", "report/")) or k == "t_flushed_ms"}
                 if rec.get("recording", 0) else None)
    return {"path": path, "step": int(attrs["step"]), "seed": int(attrs["seed"]),
            "spec": json.loads(attrs["spec_json"]), "spec_json": attrs["spec_json"],
            "spec_sha256": attrs["spec_sha256"], "run_id": attrs["run_id"], "recorder": rec,
            "positions": positions, "t_presim_ms": float(rec.get("t_presim_ms", 0.0)),
            "overwrite": bool(rec.get("overwrite", 0))}


def _dataset_names(f):
    """Names of every dataset of an open HDF5 file, in visiting order."""
    import h5py

    names = []
    f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    return names


def verify_data(path, comm):
    """Verify the fletcher32 checksum of every chunk of a checkpoint, each rank reading a
    share of the chunks (chunk k of the file on rank k % size), so that no rank reads the
    whole file (collective). Returns the number of chunks this rank read; raises SpecError
    on every rank, naming the file and dataset, if any chunk is corrupt."""
    import h5py

    err, k, mine = None, 0, 0
    try:
        with h5py.File(path, "r") as f:
            for name in _dataset_names(f):
                ds = f[name]
                for sel in (ds.iter_chunks() if ds.size else ()):
                    if k % comm.size == comm.rank:
                        _read(f, name, path, sel)
                        mine += 1
                    k += 1
    except SpecError as e:
        err = (e.field, e.value, e.allowed)
    except OSError as e:
        err = ("--resume", path, f"checkpoint is not readable: {e}")
    errs = [e for e in comm.allgather(err) if e is not None]
    if errs:
        raise SpecError(*errs[0])
    return mine


def _read_local(f, path, sim, layout):
    """This rank's part of an open checkpoint: the state of the neurons it owns (strided by
    gid), its current-input columns and the events of one contiguous block of each pending
    list (1/size of it; :func:`_redistribute` sends them to their owners). Returns a dict
    like ``Simulation.state_dict``."""
    r, size = sim.rank, sim.size
    state = {}
    for name, variables in layout["state"].items():
        a, b = sim.gid_ranges[name]
        first = (r - a) % size
        state[name] = {var: _read(f, f"state/{name}/{var}", path, np.s_[first:b - a:size])
                       for var in variables}
    ring_cur = _read(f, "ring/cur", path, np.s_[:, r::size])
    pending = {}
    for kind in layout["pending"]:
        n = f[f"pending/{kind}/gid"].shape[0] if f"pending/{kind}/gid" in f else 0
        lo, hi = n * r // size, n * (r + 1) // size
        pending[kind] = tuple(_read(f, f"pending/{kind}/{name}", path, np.s_[lo:hi])
                              for name in PENDING_FIELDS)
    return {"step": int(f.attrs["step"]), "ring_slots": int(f.attrs["ring_slots"]),
            "state": state, "ring_cur": ring_cur, "pending": pending}


def _redistribute(comm, records):
    """Send each pending event (slot, gid, value) to the rank that owns its gid (gid % size)
    with one Alltoallv; returns this rank's events in file order (blocks arrive in rank
    order, each in its order), which keeps every target's events in list order."""
    slot, gid, val = records
    size = comm.size
    dest = gid % size
    order = np.argsort(dest, kind="stable")
    send = np.empty((gid.size, 3), np.int64)
    send[:, 0], send[:, 1] = slot[order], gid[order]
    send[:, 2] = np.ascontiguousarray(val[order], np.float64).view(np.int64)
    del slot, gid, val, order, records
    counts = np.bincount(dest, minlength=size).astype(np.int64) * 3
    rcounts = comm.alltoall_counts(counts)
    recv = np.empty((int(rcounts.sum()) // 3, 3), np.int64)
    comm.alltoallv(send.reshape(-1), counts, recv.reshape(-1), rcounts)
    del send
    return recv[:, 0], recv[:, 1], recv[:, 2].view(np.float64)


def restore(sim, path):
    """Load a checkpoint into a freshly built ``sim`` of the same network and seed, on any
    number of ranks (collective). Every rank reads only the neurons it owns and 1/size of the
    pending events, which one Alltoallv then brings to their owners. Returns the step the run
    continues from. Raises SpecError on every rank if the header does not match ``sim`` or a
    dataset fails its checksum."""
    import h5py

    comm = sim.comm
    layout = sim.state_dict()
    err, part = None, None
    try:
        with h5py.File(path, "r") as f:
            _check_header(f, path)
            if int(f.attrs["seed"]) != sim.seed:
                raise SpecError("--resume", path,
                                f"checkpoint seed {int(f.attrs['seed'])} differs from {sim.seed}")
            if _plain(f.attrs["spec_json"]) != _spec_json(sim.net):
                raise SpecError("--resume", path, "checkpoint was written for a different network")
            if int(f.attrs["ring_slots"]) != layout["ring_slots"]:
                raise SpecError("--resume", path, "ring buffer size differs (different delays)")
            part = _read_local(f, path, sim, layout)
    except SpecError as e:
        err = (e.field, e.value, e.allowed)
    errs = [e for e in comm.allgather(err) if e is not None]  # no rank goes on alone
    if errs:
        raise SpecError(*errs[0])
    for kind in list(part["pending"]):  # one kind at a time, the file's block dropped once sent
        part["pending"][kind] = _redistribute(comm, part["pending"].pop(kind))
    sim.load_state(part)
    comm.barrier()
    return sim.step
