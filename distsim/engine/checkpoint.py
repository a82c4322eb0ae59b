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
the previous checkpoint intact.

Layout::
  /            attrs: step, seed, dt_ms, n_neurons, n_ranks_written, spec_json, ring_slots
  /state/<population>/<variable>   [population size] by gid offset
  /pending/<kind>/slot, /gid, /value   pending events (kind: single, multiple), list order,
                        slot = arrival step % ring_slots
  /ring/cur             current-input rows [min delay or 0, n_neurons] by gid
  /recorder    attrs written by the recorder (positions in the output file)
"""
import json
import os

import numpy as np

from ..partition import local_gids
from ..spec import SpecError


def checkpoint_path(output_path):
    """Path of the checkpoint file that belongs to an output file."""
    return os.fspath(output_path) + ".ckpt"


def _spec_json(net):
    return json.dumps(net.to_dict(), sort_keys=True, default=str)


def save(sim, path, recorder_attrs=None):
    """Collectively write ``sim``'s state to ``path`` (rank 0 writes). Returns the step saved."""
    import h5py

    comm = sim.comm
    local = {
        "state": {pop.name: g.pop_state(k) for g in sim.groups for k, pop in enumerate(g.pops)},
        "pending": sim.events.records(sim.rank, sim.size),
        "ring_cur": sim.ring_cur[:, : sim.n_local],
    }
    parts = comm.gather(local, root=0)
    if comm.rank == 0:
        tmp = path + ".tmp"
        size = comm.size
        with h5py.File(tmp, "w") as f:
            f.attrs["step"] = sim.step
            f.attrs["seed"] = sim.seed
            f.attrs["dt_ms"] = sim.dt
            f.attrs["n_neurons"] = sim.n_neurons
            f.attrs["n_ranks_written"] = size
            f.attrs["spec_json"] = _spec_json(sim.net)
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
                        grp.create_dataset(var, data=full)
            full = np.empty((parts[0]["ring_cur"].shape[0], sim.n_neurons))
            for r in range(size):
                full[:, r::size] = parts[r]["ring_cur"]
            f.create_dataset("ring/cur", data=full)
            for kind in ("single", "multiple"):
                for i, name in enumerate(("slot", "gid", "value")):
                    f.create_dataset(f"pending/{kind}/{name}",
                                     data=np.concatenate([parts[r]["pending"][kind][i] for r in range(size)]))
            rg = f.create_group("recorder")
            for k, v in (recorder_attrs or {}).items():
                rg.attrs[k] = v
        os.replace(tmp, path)
    comm.barrier()
    return sim.step


def read_recorder_attrs(path):
    """dict of the recorder positions stored in a checkpoint."""
    import h5py

    with h5py.File(path, "r") as f:
        return dict(f["recorder"].attrs)


def read_header(path):
    """(step, seed, spec dict) of a checkpoint; raises SpecError if it is missing or broken."""
    import h5py

    if not os.path.isfile(path):
        raise SpecError("--resume", path, "has no checkpoint beside it (run with --checkpoint-every "
                                          "or stop it with SIGTERM to write one)")
    try:
        with h5py.File(path, "r") as f:
            return int(f.attrs["step"]), int(f.attrs["seed"]), json.loads(f.attrs["spec_json"])
    except (OSError, KeyError) as e:
        raise SpecError("--resume", path, f"checkpoint is not readable: {e}") from None


def restore(sim, path):
    """Load a checkpoint into a freshly built ``sim`` of the same network and seed, on any
    number of ranks. Returns the step the run continues from."""
    import h5py

    with h5py.File(path, "r") as f:
        if int(f.attrs["seed"]) != sim.seed:
            raise SpecError("--resume", path, f"checkpoint seed {int(f.attrs['seed'])} differs from {sim.seed}")
        if f.attrs["spec_json"] != _spec_json(sim.net):
            raise SpecError("--resume", path, "checkpoint was written for a different network")
        if int(f.attrs["ring_slots"]) != sim.R_ev:
            raise SpecError("--resume", path, "ring buffer size differs (different delays)")
        r, size = sim.rank, sim.size
        for g in sim.groups:
            for k, pop in enumerate(g.pops):
                a, b = sim.gid_ranges[pop.name]
                offs = local_gids(a, b, r, size) - a
                for var, view in g.pop_state(k).items():
                    view[...] = f[f"state/{pop.name}/{var}"][...][offs]
        sim.events.load({kind: tuple(f[f"pending/{kind}/{name}"][...] for name in ("slot", "gid", "value"))
                         for kind in ("single", "multiple")}, r, size)
        sim.ring_cur[:, : sim.n_local] = f["ring/cur"][:, r::size]
        sim.step = int(f.attrs["step"])
    sim.comm.barrier()
    return sim.step
