"""Checkpoint and restore the complete dynamic state of a Simulation, keyed by gid.

What a run needs to continue exactly: the step counter, every neuron's state variables
(membrane potential, synaptic currents, current input, refractory counter), the network
input still on its way (every pending event: arrival slot, target gid, weight, in list
order) and the current-input rows. Random numbers need no state: every
draw is addressed by (seed, stream, step). Spikes in flight are already in the event lists at
a slice boundary, which is the only place a checkpoint is taken.

Everything is stored by gid, not by rank, so a checkpoint written with N ranks restores on
any number of ranks. The file (HDF5, beside the output: ``OUT.h5.ckpt``) is written by rank 0
from a gather, to a temporary name and renamed, so a run killed while checkpointing keeps
the previous checkpoint intact; a write that fails removes the temporary file.

Integrity: every dataset carries an HDF5 fletcher32 checksum, and the header (all attributes,
the recorder positions and every dataset's name, shape and type) a SHA-256 (``header_sha256``).
:func:`read_checked` verifies both and raises a SpecError naming the file and the dataset.

Layout::
  /            attrs: format, step, seed, dt_ms, n_neurons, n_ranks_written, spec_json,
               spec_sha256, run_id, ring_slots, header_sha256
  /state/<population>/<variable>   [population size] by gid offset
  /pending/<kind>/slot, /gid, /value   pending events (kind: single, multiple), list order,
                        slot = arrival step % ring_slots
  /ring/cur             current-input rows [min delay or 0, n_neurons] by gid
  /recorder    attrs written by the recorder (positions in the output file, t_presim_ms,
               recording, overwrite)
"""
import hashlib
import json
import os

import numpy as np

from ..partition import local_gids
from ..recording.identity import spec_json, spec_sha256
from ..spec import SpecError

FORMAT = 2  # 1: before run ids and checksums (refused: it cannot be verified)


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


def _write(path, sim, parts, recorder_attrs, run_id):
    import h5py

    size = sim.comm.size
    text = _spec_json(sim.net)
    with h5py.File(path, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["step"] = sim.step
        f.attrs["seed"] = sim.seed
        f.attrs["dt_ms"] = sim.dt
        f.attrs["n_neurons"] = sim.n_neurons
        f.attrs["n_ranks_written"] = size
        f.attrs["spec_json"] = text
        f.attrs["spec_sha256"] = spec_sha256(text)
        f.attrs["run_id"] = str(run_id or "")
        f.attrs["ring_slots"] = sim.R_ev
        for g in sim.groups:
            for pop in g.pops:
                a, b = sim.gid_ranges[pop.name]
                grp = f.create_group(f"state/{pop.name}")
                for var in g.state:
                    full = np.empty((b - a,) + g.state[var].shape[1:], dtype=g.state[var].dtype)
                    for r in range(size):
                        offs = local_gids(a, b, r, size) - a
                        full[offs] = parts[r]["state"][pop.name][var]
                    _dataset(grp, var, full)
        full = np.empty((parts[0]["ring_cur"].shape[0], sim.n_neurons))
        for r in range(size):
            full[:, r::size] = parts[r]["ring_cur"]
        _dataset(f, "ring/cur", full)
        for kind in ("single", "multiple"):
            for i, name in enumerate(("slot", "gid", "value")):
                _dataset(f, f"pending/{kind}/{name}",
                         np.concatenate([parts[r]["pending"][kind][i] for r in range(size)]))
        rg = f.create_group("recorder")
        for k, v in (recorder_attrs or {}).items():
            rg.attrs[k] = v
        f.attrs["header_sha256"] = _header_digest(f)


def save(sim, path, recorder_attrs=None, run_id=""):
    """Collectively write ``sim``'s state to ``path`` (rank 0 writes; ``run_id`` is the run's
    identity, see ``distsim.recording.identity``). Returns the step saved. If the write fails
    (disk full, ...) the temporary file is removed, the previous checkpoint stays, and the
    error is raised on every rank."""
    comm = sim.comm
    local = {
        "state": {pop.name: g.pop_state(k) for g in sim.groups for k, pop in enumerate(g.pops)},
        "pending": sim.events.records(sim.rank, sim.size),
        "ring_cur": sim.ring_cur[:, : sim.n_local],
    }
    parts = comm.gather(local, root=0)
    err = None
    if comm.rank == 0:
        tmp = path + ".tmp"
        try:
            _write(tmp, sim, parts, recorder_attrs, run_id)
            os.replace(tmp, path)
        except BaseException as e:
            err = e
            try:
                os.unlink(tmp)
            except OSError:
                pass
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
                names = []
                f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
                for name in names:
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


def restore(sim, path):
    """Load a checkpoint into a freshly built ``sim`` of the same network and seed, on any
    number of ranks. Returns the step the run continues from. Raises SpecError if the header
    does not match ``sim`` or a dataset fails its checksum."""
    import h5py

    with h5py.File(path, "r") as f:
        _check_header(f, path)
        if int(f.attrs["seed"]) != sim.seed:
            raise SpecError("--resume", path, f"checkpoint seed {int(f.attrs['seed'])} differs from {sim.seed}")
        if _plain(f.attrs["spec_json"]) != _spec_json(sim.net):
            raise SpecError("--resume", path, "checkpoint was written for a different network")
        if int(f.attrs["ring_slots"]) != sim.R_ev:
            raise SpecError("--resume", path, "ring buffer size differs (different delays)")
        r, size = sim.rank, sim.size
        for g in sim.groups:
            for k, pop in enumerate(g.pops):
                a, b = sim.gid_ranges[pop.name]
                offs = local_gids(a, b, r, size) - a
                for var, view in g.pop_state(k).items():
                    view[...] = _read(f, f"state/{pop.name}/{var}", path)[offs]
        sim.events.load({kind: tuple(_read(f, f"pending/{kind}/{name}", path) for name in ("slot", "gid", "value"))
                         for kind in ("single", "multiple")}, r, size)
        sim.ring_cur[:, : sim.n_local] = _read(f, "ring/cur", path, (slice(None), slice(r, None, size)))
        sim.step = int(f.attrs["step"])
    sim.comm.barrier()
    return sim.step
