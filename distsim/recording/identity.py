"""The identity of a run, and the check that an output file belongs to a checkpoint.

Every run gets a random run id on rank 0 (broadcast), kept across resumes. It is written with
the spec hash and the seed into the output file (``/meta`` attributes ``run_id``,
``spec_sha256``, ``seed``) and into the checkpoint header. ``--resume`` continues an output
file only if it carries the checkpoint's identity and every dataset the checkpoint records is
at least as long as the checkpoint's position in it.
"""
import hashlib
import json
import os
import uuid

from ..spec import SpecError


def spec_json(net):
    """Canonical JSON text of a network's spec (sorted keys), as stored in /meta and checkpoints."""
    return json.dumps(net.to_dict(), default=str, sort_keys=True)


def spec_sha256(text):
    """Hex SHA-256 of a spec's canonical JSON text."""
    return hashlib.sha256(text.encode()).hexdigest()


def new_run_id(comm):
    """A fresh random run id (32 hex digits) drawn on rank 0 and broadcast (collective)."""
    return comm.bcast(uuid.uuid4().hex if comm.rank == 0 else None)


def on_rank0(comm, fn, *args):
    """Run ``fn(*args)`` on rank 0 only and broadcast its (picklable) result (collective).

    A SpecError on rank 0 is raised on every rank; any other exception is re-raised on rank 0
    and raised as RuntimeError elsewhere, so no rank is left waiting.
    """
    res, err = None, None
    if comm.rank == 0:
        try:
            res = ("ok", fn(*args))
        except SpecError as e:
            res = ("spec", (e.field, e.value, e.allowed))
        except Exception as e:  # noqa: BLE001 - reported to every rank below
            err = e
            res = ("exc", f"{type(e).__name__}: {e}")
    res = comm.bcast(res)
    if res[0] == "spec":
        raise SpecError(*res[1])
    if res[0] == "exc":
        if err is not None:
            raise err
        raise RuntimeError(f"rank 0 failed: {res[1]}")
    return res[1]


def _text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def file_run_id(path):
    """The ``/meta`` run id of an output file, or None if it has none or cannot be read."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            v = f["meta"].attrs.get("run_id") if "meta" in f else None
            return None if v is None else _text(v)
    except OSError:
        return None


def check_output_for_resume(output, head, field="--resume"):
    """Decide how a resumed run may use ``output`` given the checkpoint header ``head`` (see
    ``checkpoint.read_checked``). Returns "append" (the file is the run's own and reaches the
    checkpoint's positions), "create" (nothing recorded yet, no file) or "replace" (nothing
    recorded yet; the file is the run's own, or the run was started with --overwrite).
    Raises SpecError naming what differs. Reads the file with plain h5py (one process)."""
    import h5py

    output = os.fspath(output)
    ckpt, rid = head["path"], head["run_id"]
    pos = head["positions"]
    exists = os.path.exists(output)
    if pos is None:  # checkpoint taken during the warm-up (--t-presim): nothing recorded yet
        if not exists:
            return "create"
        if file_run_id(output) == rid or head["overwrite"]:
            return "replace"
        raise SpecError(field, output, f"exists but was not written by the run of {ckpt} (run {rid}, "
                                       "which had recorded nothing yet and was started without "
                                       "--overwrite); move the file away to continue")
    if not exists:
        raise SpecError(field, output, "output file to continue does not exist")
    try:
        f = h5py.File(output, "r")
    except OSError as e:
        raise SpecError(field, output, f"is not a readable HDF5 file ({e})") from None
    with f:
        attrs = dict(f["meta"].attrs) if isinstance(f.get("meta"), h5py.Group) else {}
        have = _text(attrs["run_id"]) if "run_id" in attrs else None
        if have != rid:
            who = (f"run {have} (seed {attrs.get('seed')}, model {_text(attrs.get('model', '?'))})"
                   if have else "no run id (another program, or distsim before run ids)")
            raise SpecError(field, output, f"belongs to {who}, but the checkpoint {ckpt} to run {rid} "
                                           f"(seed {head['seed']}); refusing to mix two runs")
        if int(attrs.get("seed", -1)) != head["seed"] or _text(attrs.get("spec_sha256", "")) != head["spec_sha256"]:
            raise SpecError(field, output, f"has the run id of {ckpt} but another seed or network "
                                           f"(seed {attrs.get('seed')} vs {head['seed']}); the file was altered")
        for key in sorted(k for k in pos if "/" in k):
            kind, pop = key.split("/", 1)
            n = int(pos[key])
            for name in (("node_ids", "timestamps") if kind == "spikes" else ("data", "times")):
                ds = f.get(f"{kind}/{pop}/{name}")
                if not isinstance(ds, h5py.Dataset):
                    raise SpecError(field, output, f"lacks /{kind}/{pop}/{name} (population {pop}), "
                                                   f"which the checkpoint {ckpt} records")
                if ds.shape[0] < n:
                    raise SpecError(field, output, f"/{kind}/{pop}/{name} holds {ds.shape[0]} entries, "
                                                   f"fewer than the {n} at the checkpoint {ckpt}: the file "
                                                   "was trimmed or is older than the checkpoint")
        t_file = float(attrs.get("t_flushed_ms", -1.0))
        t_ckpt = float(pos.get("t_flushed_ms", 0.0))
        if t_file < t_ckpt - 1e-9:
            raise SpecError(field, output, f"was flushed up to {t_file} ms, before the checkpoint's "
                                           f"{t_ckpt} ms: the file is older than the checkpoint")
    return "append"
