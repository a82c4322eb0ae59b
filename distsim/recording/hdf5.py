"""Write spikes and voltmeter samples of a run to one HDF5 file in the SONATA output layout.

Layout (SONATA "Spike file" and "Frame oriented, node element recordings"; libsonata's
``SpikeReader`` and ``SomaReportReader`` read it)::

    /meta                               attrs: layout_version (2), complete (1 once the run
                                        reached its end; 0 while running, stopped or killed),
                                        run_id, spec_sha256, dt_ms,
                                        seed, n_ranks, n_threads (per rank;
                                        information only), model, spec_json,
                                        reference_rates_json, versions_json, t_presim_ms,
                                        t_sim_ms, t_flushed_ms, and at close build_time_s,
                                        sim_time_s, rtf, n_synapses, peak_rss_bytes, and
                                        error (text) when the run stopped on a non-finite
                                        state (engine.NonFiniteState; complete stays 0)
    /spikes/<pop>                       attrs: sorting (HDF5 enum int8 none=0, by_id=1,
                                        by_time=2; always none), size, gid_start, gid_stop
    /spikes/<pop>/node_ids              uint64, population-local ids 0..size-1
    /spikes/<pop>/timestamps            float64, attr units="ms"
    /report/<pop>                       attrs: variable="V_m", units="mV", gid_start
    /report/<pop>:<var>                 the same for another recorded variable (e.g. "E:mean")
    /report/<pop>/data                  float64 [time, recorded neuron], attr units
    /report/<pop>/times                 float64 ms, one per row of data (distsim extra)
    /report/<pop>/mapping/node_ids      uint64, population-local ids of the columns
                                        (increasing; attr sorted=1 as uint8)
    /report/<pop>/mapping/index_pointers uint64 [n + 1], column k = data[:, k] (one element
                                        per node; libsonata needs n + 1 entries)
    /report/<pop>/mapping/element_ids   uint32 zeros (one element, the soma, per node)
    /report/<pop>/mapping/time          float64 [start, stop, step] ms (stop exclusive),
                                        attr units="ms"; updated at every flush
    /edges/<projection>                 final weights of a plastic projection (distsim.synapses),
                                        written at close; <projection> = "<source>-><target>"
                                        ("#<index>" appended when a pair has several); attrs
                                        source_population, target_population, synapse_model,
                                        projection (index), units
    /edges/<projection>/source_node_id  uint64 population-local ids (SONATA edges; attr
                                        node_population)
    /edges/<projection>/target_node_id  uint64 population-local ids (attr node_population)
    /edges/<projection>/edge_type_id    int8 zeros (SONATA requires it)
    /edges/<projection>/0/weight...     hard links to weight and weight_t<ms>: SONATA's edge
                                        group 0, so libsonata's EdgeStorage reads them as
                                        attributes (its afferent/efferent queries need
                                        libsonata's write_indices first)
    /edges/<projection>/weight          float64 (the target model's unit), one per synapse
    /edges/<projection>/weight_t<ms>    float64, the weights at <ms> (attr t_ms; "100", "0.5"),
                                        with weights_every_ms (--weights-every); group attr
                                        snapshot_times_ms. Every column is in target-major
                                        order (target, then source, multapses in their row
                                        order; group attr order="target-major"): the same
                                        bytes for any number of ranks
    /positions/<pop>                    float64 [n, ndim] position of each neuron (node id =
                                        row) of a population with positions (the network's
                                        length unit); attrs kind, extent, center, edge_wrap,
                                        gid_start, and for a grid shape, per_position

Node ids are population-local as SONATA specifies; the global id (gid) of a neuron is
``gid_start + node_id`` (``read_spikes``/``read_report`` return gids).

With parallel h5py and an MPI communicator every rank writes its own spikes and columns into
the one file (``mpio`` driver); otherwise each flush is gathered to rank 0, which writes
with the default driver. Either way the file has the same layout and content (spikes are in
rank order within a flush; sort by (node_id, timestamp) to compare runs).

Crash safety: nothing touches the file between flushes, and every flush ends with
``H5Fflush``, so a process killed between flushes leaves a valid file holding exactly the
data up to ``/meta.attrs["t_flushed_ms"]``.
"""
import json
import os
import warnings

import numpy as np

from ..spec import SpecError
from .identity import new_run_id, spec_json, spec_sha256

SPIKE_CHUNK = 16384  # elements per chunk of the spike datasets
REPORT_CHUNK_BYTES = 1 << 18  # about this many bytes per chunk of /report/<pop>/data
#: SONATA's ``sorting`` enum of a spike population (libsonata: ``enum class Sorting : char``)
SORTING = {"none": 0, "by_id": 1, "by_time": 2}
#: /meta attribute ``layout_version``: 2 = population-local node ids (SONATA); files without
#: it were written with global gids in node_ids and are refused by the readers
#: (``analysis.spikes.check_layout``, which the reader side keeps as its own constant)
LAYOUT_VERSION = 2


def sorting_dtype():
    """The HDF5 enum dtype (int8 base) of the SONATA ``sorting`` attribute."""
    return _h5py().enum_dtype(SORTING, basetype=np.int8)


def _report_population(name, ranges):
    """Population name of a report name ``"<pop>"`` or ``"<pop>:<var>"``."""
    return name if name in ranges else name.rsplit(":", 1)[0]


def _h5py():
    import h5py
    return h5py


def h5py_has_mpi():
    """True when h5py was built against parallel HDF5 (the ``mpio`` driver is available)."""
    return bool(_h5py().get_config().mpi)


def versions():
    """dict package -> version string of distsim and the libraries it runs on (where installed)."""
    from importlib import metadata
    out = {}
    for name in ("distsim", "numpy", "numba", "h5py", "mpi4py", "dask"):
        try:
            out[name] = metadata.version(name)
        except Exception:  # not installed as a distribution
            pass
    try:
        out["hdf5"] = _h5py().version.hdf5_version
    except Exception:
        pass
    return out


class HDF5Recorder:
    """Recorder (see ``distsim.recording``) that buffers on each rank and flushes to HDF5.

    path: output file; flush_interval_ms: simulated time (ms) between flushes;
    overwrite: replace an existing file (otherwise a SpecError is raised on every rank);
    t_presim_ms: stored as /meta attribute; parallel: None = use the mpio driver when h5py
    has MPI and the communicator is MPI with more than one rank, False = always gather to
    rank 0, True = require the mpio driver; on_flush: called on every rank after each flush
    as ``on_flush(t_flushed_ms)``; run_id: the run's identity written to /meta (None = a new
    random one); resume: a checkpoint's positions (continue the existing file there);
    weights_every_ms: also write the weights of every plastic projection at each multiple of
    this (simulated ms from t = 0) as /edges/<projection>/weight_t<ms> (None: final weights
    only; on resume None continues the file's ``/meta`` ``weights_every_ms``).
    """

    def __init__(self, path, flush_interval_ms=100.0, overwrite=False, t_presim_ms=0.0,
                 parallel=None, on_flush=None, resume=None, run_id=None, weights_every_ms=None):
        if not (isinstance(flush_interval_ms, (int, float)) and np.isfinite(flush_interval_ms)
                and flush_interval_ms > 0):
            raise SpecError("flush_interval_ms", flush_interval_ms, "must be a finite number > 0")
        self.path = os.fspath(path)
        self.flush_interval_ms = float(flush_interval_ms)
        self.overwrite = bool(overwrite)
        self.t_presim_ms = float(t_presim_ms)
        self.parallel = parallel
        self.on_flush = on_flush
        self.f = None  # h5py.File (mpio: every rank; gather mode: rank 0 only)
        self.sim = None
        self.closed = False
        self.mode = None  # "mpio" or "gather"
        self.t_flushed_ms = 0.0
        self.resume = resume  # positions() of a checkpoint: continue the existing file there
        self.run_id = run_id
        if weights_every_ms is not None and not (isinstance(weights_every_ms, (int, float))
                                                 and np.isfinite(weights_every_ms) and weights_every_ms > 0):
            raise SpecError("weights_every_ms", weights_every_ms, "must be a finite number > 0 (ms)")
        self.weights_every_ms = None if weights_every_ms is None else float(weights_every_ms)
        self.w_steps = self.next_w = None

    # ------------------------------------------------------------ setup
    def _choose_mode(self, comm):
        can = h5py_has_mpi() and comm.mpi_comm is not None
        if self.parallel is True:
            if not can:
                raise SpecError("parallel", True, "needs h5py built with MPI and an MPI communicator")
            return "mpio"
        if self.parallel is None and can and comm.size > 1:
            return "mpio"
        if self.parallel is None and comm.size > 1 and comm.rank == 0:
            warnings.warn(f"HDF5 output {self.path} is gathered to rank 0 because h5py lacks MPI "
                          "(parallel HDF5); every flush goes through rank 0", RuntimeWarning,
                          stacklevel=3)
        return "gather"

    def begin(self, sim):
        """Open the file and write its structure and /meta on the first call; later calls
        (further ``sim.run``) only check that it is the same simulation. Returns None."""
        if self.closed:
            raise SpecError("output", self.path, "recorder already closed")
        if self.f is not None or self.sim is not None:
            if sim is not self.sim:
                raise SpecError("output", self.path, "recorder already used by another simulation")
            return
        comm = sim.comm
        self.sim, self.comm = sim, comm
        self.rank, self.size = comm.rank, comm.size
        self.dt = float(sim.dt)
        self.flush_steps = max(1, int(round(self.flush_interval_ms / self.dt)))
        self.next_flush = (sim.step // self.flush_steps + 1) * self.flush_steps
        self.flushed_step = sim.step
        self.mode = self._choose_mode(comm)
        # never overwrite: decide on rank 0, the same answer everywhere, before creating anything
        exists = comm.bcast(os.path.exists(self.path) if self.rank == 0 else None)
        if self.resume is not None and not exists:
            self.sim = None
            raise SpecError("--resume", self.path, "output file to continue does not exist")
        if exists and not self.overwrite and self.resume is None:
            self.sim = None  # nothing was created; the recorder may be begun again
            raise SpecError("output", self.path, "exists; pass --overwrite to replace it")

        net = sim.net
        ranges = net.gid_ranges()
        spike_pops = []
        for dv in sim.spike_recorders:
            for t in dv.targets:
                if t not in spike_pops:
                    spike_pops.append(t)
        self.spike_pops = sorted(spike_pops, key=lambda p: ranges[p][0])
        self.ranges = {p: ranges[p] for p in self.spike_pops}
        self.all_ranges = dict(ranges)
        self.sizes = {p.name: p.n for p in net.populations}
        # voltmeter columns: every rank's recorded gids, sorted, and where each rank's go
        mine = sim.voltmeter_columns()
        allrec = comm.allgather(mine)
        self.report_pops = list(mine)
        self.report_vars = sim.report_variables()
        self.report_steps = _report_intervals(sim)  # report name -> sampling interval (steps)
        self.report_step0 = sim.step  # first sample of a report: the next multiple of it
        self.report_gids, self.report_cols = {}, {}
        for p in self.report_pops:
            parts = [r.get(p, np.empty(0, np.int64)) for r in allrec]
            allg = np.sort(np.concatenate(parts))
            self.report_gids[p] = allg
            self.report_cols[p] = [np.searchsorted(allg, x) for x in parts]  # per rank
        self._spk = []  # (gids, stamps) int64 arrays of this rank
        self._smp = {p: [] for p in self.report_pops}  # pop -> list of (stamps, values)

        if self.run_id is None:
            self.run_id = new_run_id(comm)
        text = spec_json(net)
        meta = {"layout_version": LAYOUT_VERSION, "complete": np.int8(0), "run_id": str(self.run_id),
                "spec_sha256": spec_sha256(text),
                "dt_ms": self.dt, "seed": int(sim.seed), "n_ranks": int(self.size),
                "n_threads": int(getattr(sim, "threads", 1)),
                "model": str(net.name),
                "spec_json": text,
                "versions_json": json.dumps(versions(), sort_keys=True),
                "t_presim_ms": self.t_presim_ms, "t_sim_ms": sim.step * self.dt,
                "t_flushed_ms": sim.step * self.dt, "flush_interval_ms": self.flush_interval_ms}
        if self.weights_every_ms is not None:
            meta["weights_every_ms"] = self.weights_every_ms
        if net.reference_rates:
            meta["reference_rates_json"] = json.dumps(net.reference_rates, default=str,
                                                      sort_keys=True)
        self.t_flushed_ms = sim.step * self.dt
        self._pos_arrays = {}
        if any(p.positions is not None for p in net.populations):
            from ..connectivity.spatial import network_positions
            self._pos_arrays = network_positions(net, sim.seed)
        self.n_threads = int(getattr(sim, "threads", 1))
        if self.resume is not None:
            self._on_writer(self._reopen, self.resume, sim.step)
            if self.weights_every_ms is None:  # continue the stopped segment's snapshots
                have = None
                if self.f is not None:
                    have = self.f["meta"].attrs.get("weights_every_ms")
                    have = None if have is None else float(have)
                if self.mode != "mpio":
                    have = comm.bcast(have)
                self.weights_every_ms = have
        else:
            self._on_writer(self._create, meta)
        if self.weights_every_ms is not None and getattr(sim, "plastic", None) is not None:
            self.w_steps = int(round(self.weights_every_ms / self.dt))
            if self.w_steps < 1 or abs(self.w_steps * self.dt - self.weights_every_ms) > 1e-9 * self.weights_every_ms:
                raise SpecError("weights_every_ms", self.weights_every_ms, f"must be a multiple of dt_ms = {self.dt}")
            self.next_w = (sim.step // self.w_steps + 1) * self.w_steps

    def _reopen(self, pos, step):
        """Open the existing file and cut every dataset back to the checkpoint's positions
        (data written after the checkpoint is discarded: the run repeats it exactly). Raises
        SpecError, before changing anything, if the file is not this run's or is shorter
        than the positions (it would otherwise be padded with invented data)."""
        h5py = _h5py()
        if self.mode == "mpio":
            self.f = h5py.File(self.path, "r+", driver="mpio", comm=self.comm.mpi_comm)
        else:
            self.f = h5py.File(self.path, "r+")
        f = self.f
        try:
            self._check_resume(f, pos)
        except SpecError:
            f.close()
            self.f = None
            raise
        for p in self.spike_pops:
            n = int(pos.get(f"spikes/{p}", 0))
            for name in ("node_ids", "timestamps"):
                f["spikes"][p][name].resize((n,))
        for p in self.report_pops:
            n = int(pos.get(f"report/{p}", 0))
            g = f["report"][p]
            g["data"].resize((n, g["data"].shape[1]))
            g["times"].resize((n,))
            self._set_report_stop(g, n)
        for g in f.get("edges", {}).values():  # weight snapshots after the checkpoint: redone
            late = [k for k, v in g.items() if k.startswith("weight_t") and float(v.attrs["t_ms"]) > step * self.dt + 1e-9]
            for k in late:
                del g[k]
                if "0" in g and k in g["0"]:
                    del g["0"][k]
            if late:
                g.attrs["snapshot_times_ms"] = np.array(sorted(float(v.attrs["t_ms"]) for k, v in g.items()
                                                               if k.startswith("weight_t")), np.float64)
        m = f["meta"]
        m.attrs["complete"] = np.int8(0)  # until this segment closes without a stop
        if "error" in m.attrs:  # of a later segment that failed: this one repeats it from before
            del m.attrs["error"]
        m.attrs["t_flushed_ms"] = step * self.dt
        m.attrs["t_sim_ms"] = step * self.dt
        m.attrs["n_ranks"] = int(self.size)
        m.attrs["n_threads"] = self.n_threads  # of this segment
        f.flush()

    @staticmethod
    def _set_report_stop(g, n_rows):
        """Set the (exclusive) stop of /report/<pop>/mapping/time to ``n_rows`` samples
        after its start (ms). Returns None."""
        tm = g["mapping"]["time"]
        start, _, step = tm[()]
        tm[1] = start + n_rows * step

    def _check_resume(self, f, pos):
        """SpecError unless ``f`` carries this run's id and every dataset reaches ``pos``."""
        have = f["meta"].attrs.get("run_id") if "meta" in f else None
        have = have.decode() if isinstance(have, bytes) else have
        if self.run_id is not None and have != self.run_id:
            raise SpecError("--resume", self.path, f"belongs to run {have}, not to run {self.run_id}")
        for kind, pops, names in (("spikes", self.spike_pops, ("node_ids", "timestamps")),
                                  ("report", self.report_pops, ("data", "times"))):
            for p in pops:
                n = int(pos.get(f"{kind}/{p}", 0))
                for name in names:
                    key = f"{kind}/{p}/{name}"
                    if key not in f:
                        raise SpecError("--resume", self.path, f"lacks /{key}, which this run records")
                    if f[key].shape[0] < n:
                        raise SpecError("--resume", self.path, f"/{key} holds {f[key].shape[0]} entries, "
                                                               f"fewer than the checkpoint's {n}")

    def positions(self):
        """dict of dataset lengths after the last flush ("spikes/<pop>", "report/<pop>") and
        ``t_flushed_ms``; the same on every rank (collective in gather mode)."""
        pos = None
        if self.f is not None:
            pos = {f"spikes/{p}": int(self.f["spikes"][p]["node_ids"].shape[0]) for p in self.spike_pops}
            pos.update({f"report/{p}": int(self.f["report"][p]["times"].shape[0]) for p in self.report_pops})
            pos["t_flushed_ms"] = self.t_flushed_ms
        if self.mode != "mpio":
            pos = self.comm.bcast(pos)
        return pos

    def _open(self):
        h5py = _h5py()
        mode = "w" if self.overwrite else "w-"
        if self.mode == "mpio":
            return h5py.File(self.path, mode, driver="mpio", comm=self.comm.mpi_comm)
        return h5py.File(self.path, mode)

    def _on_writer(self, fn, *args):
        """Run fn(*args) collectively (mpio) or on rank 0 only (gather); an error on rank 0
        in gather mode is raised on every rank (no rank is left waiting)."""
        if self.mode == "mpio":
            return fn(*args)
        err = None
        if self.rank == 0:
            try:
                fn(*args)
            except BaseException as e:  # report, then re-raise below
                err = e
        spec = (err.field, err.value, err.allowed) if isinstance(err, SpecError) else None
        msg = self.comm.bcast(None if err is None else (f"{type(err).__name__}: {err}", spec))
        if err is not None:
            raise err
        if msg is not None:
            if msg[1] is not None:  # the same named error on every rank (exit 2 everywhere)
                raise SpecError(*msg[1])
            raise OSError(f"HDF5 output {self.path} failed on rank 0: {msg[0]}")

    def _create(self, meta):
        self.f = f = self._open()
        m = f.create_group("meta")
        for k, v in meta.items():
            m.attrs[k] = v
        sp = f.create_group("spikes")
        for p in self.spike_pops:
            a, b = self.ranges[p]
            g = sp.create_group(p)
            g.attrs.create("sorting", SORTING["none"], dtype=sorting_dtype())
            g.attrs["size"] = np.int64(self.sizes[p])
            g.attrs["gid_start"] = np.int64(a)
            g.attrs["gid_stop"] = np.int64(b)
            g.create_dataset("node_ids", shape=(0,), maxshape=(None,), dtype=np.uint64,
                             chunks=(SPIKE_CHUNK,))
            ts = g.create_dataset("timestamps", shape=(0,), maxshape=(None,), dtype=np.float64,
                                  chunks=(SPIKE_CHUNK,))
            ts.attrs["units"] = "ms"
        rp = f.create_group("report")
        for p in self.report_pops:
            gids = self.report_gids[p]
            gid0 = int(self.all_ranges[_report_population(p, self.all_ranges)][0])
            n = gids.size
            g = rp.create_group(p)
            var, unit = self.report_vars.get(p, ("V_m", "mV"))
            g.attrs["variable"] = var
            g.attrs["units"] = unit
            g.attrs["gid_start"] = np.int64(gid0)
            ccols = max(1, min(n, 4096))
            crows = max(1, REPORT_CHUNK_BYTES // (8 * ccols))
            d = g.create_dataset("data", shape=(0, n), maxshape=(None, n if n else None),
                                 dtype=np.float64, chunks=(crows, ccols))
            d.attrs["units"] = unit
            t = g.create_dataset("times", shape=(0,), maxshape=(None,), dtype=np.float64,
                                 chunks=(max(crows, 1024),))
            t.attrs["units"] = "ms"
            mp = g.create_group("mapping")
            ids = mp.create_dataset("node_ids", data=(gids - gid0).astype(np.uint64))
            ids.attrs["sorted"] = np.uint8(1)
            mp.create_dataset("index_pointers", data=np.arange(n + 1, dtype=np.uint64))
            mp.create_dataset("element_ids", data=np.zeros(n, np.uint32))
            iv = self.report_steps.get(p, 1)
            first = (self.report_step0 // iv + 1) * iv * self.dt
            tm = mp.create_dataset("time", data=np.array([first, first, iv * self.dt]))
            tm.attrs["units"] = "ms"
        self._write_positions(f)
        f.flush()

    def _write_positions(self, f):
        """/positions/<pop> of every population with positions (same data on every rank)."""
        if not self._pos_arrays:
            return
        g = f.create_group("positions")
        for name, arr in self._pos_arrays.items():
            P = self.sim.net.population(name).positions
            ds = g.create_dataset(name, data=arr)
            ds.attrs["kind"] = P.kind
            ds.attrs["extent"] = np.array(P.extent)
            ds.attrs["center"] = np.array(P.center)
            ds.attrs["edge_wrap"] = np.uint8(P.edge_wrap)
            ds.attrs["gid_start"] = np.int64(self.all_ranges[name][0])
            if P.kind == "grid":
                ds.attrs["shape"] = np.array(P.shape, dtype=np.int64)
                ds.attrs["per_position"] = np.int64(P.per_position)

    # ------------------------------------------------------------ engine calls
    def spikes(self, gids, stamps):
        """Buffer this rank's spikes of one slice (gids, integer steps). Returns None."""
        if gids.size:
            self._spk.append((np.array(gids, np.int64), np.array(stamps, np.int64)))

    def samples(self, pop, gids, stamps, values):
        """Buffer voltmeter samples values[t, k] (mV) of gids[k] at stamps[t]. Returns None."""
        if stamps.size and pop in self._smp:
            self._smp[pop].append((np.array(stamps, np.int64),
                                   np.array(values, np.float64).reshape(stamps.size, -1)))

    def boundary(self):
        """The next step at which :meth:`after_slice` must be called (the next flush), or None
        before ``begin``: the compiled loop (``engine.loop``) returns to Python there."""
        if self.sim is None or self.closed:
            return None
        return self.next_flush if self.next_w is None else min(self.next_flush, self.next_w)

    def after_slice(self, sim, step):
        """Flush when ``step`` has reached the next multiple of the flush interval, write a
        weight snapshot when it has reached the next multiple of ``weights_every_ms``
        (collective: the decisions depend on ``step`` only). Returns None."""
        if self.sim is not None and not self.closed and step >= self.next_flush:
            self.flush(step)
        if self.next_w is not None and not self.closed and step >= self.next_w:
            self.write_edges(sim, snapshot_step=step)
            self.next_w = (step // self.w_steps + 1) * self.w_steps

    # ------------------------------------------------------------ flushing
    def _local_batch(self):
        """This rank's buffered data: per spike pop (gids, stamps), per report pop (stamps, vals)."""
        if self._spk:
            g = np.concatenate([x[0] for x in self._spk])
            s = np.concatenate([x[1] for x in self._spk])
        else:
            g = s = np.empty(0, np.int64)
        self._spk = []
        spk = {}
        for p in self.spike_pops:
            a, b = self.ranges[p]
            m = (g >= a) & (g < b)
            spk[p] = (g[m] - a, s[m])  # population-local node ids
        smp = {}
        for p in self.report_pops:
            lst = self._smp[p]
            ncol = self.report_cols[p][self.rank].size
            if lst:
                st = np.concatenate([x[0] for x in lst])
                v = np.concatenate([x[1] for x in lst], axis=0)
            else:
                st, v = np.empty(0, np.int64), np.empty((0, ncol))
            self._smp[p] = []
            smp[p] = (st, v)
        return spk, smp

    def flush(self, step=None):
        """Write everything buffered on all ranks (collective), set /meta t_flushed_ms and
        t_sim_ms to ``step * dt`` (ms) and H5Fflush. Returns the flushed time in ms."""
        if step is None:
            step = self.sim.step
        spk, smp = self._local_batch()
        t_ms = step * self.dt
        if self.mode == "mpio":
            self._flush_mpio(spk, smp, t_ms)
        else:
            parts = self.comm.gather((spk, smp))
            self._on_writer(self._flush_gathered, parts, t_ms)
        self.flushed_step = step
        self.next_flush = (step // self.flush_steps + 1) * self.flush_steps
        self.t_flushed_ms = t_ms
        if self.on_flush is not None:
            self.on_flush(t_ms)
        return t_ms

    def _obj(self, path):
        """The h5py object at ``path`` of the open file, looked up once per opened file: an
        h5py lookup costs tens of microseconds, and flushes come every few ms of run time."""
        if getattr(self, "_objs_of", None) is not self.f:
            self._objs, self._objs_of = {}, self.f
        o = self._objs.get(path)
        if o is None:
            o = self._objs[path] = self.f[path]
        return o

    def _flush_mpio(self, spk, smp, t_ms):
        counts = np.array([spk[p][0].size for p in self.spike_pops]
                          + [smp[p][0].size for p in self.report_pops], np.int64)
        allc = np.array(self.comm.allgather(counts)).reshape(self.size, -1)
        offs = allc[:self.rank].sum(axis=0)
        tot = allc.sum(axis=0)
        for i, p in enumerate(self.spike_pops):
            if tot[i] == 0:
                continue
            ids, ts = self._obj(f"spikes/{p}/node_ids"), self._obj(f"spikes/{p}/timestamps")
            old = ids.shape[0]
            ids.resize((old + int(tot[i]),))
            ts.resize((old + int(tot[i]),))
            gids, st = spk[p]
            if gids.size:
                a = old + int(offs[i])
                ids[a:a + gids.size] = gids.astype(np.uint64)
                ts[a:a + gids.size] = st * self.dt
        k0 = len(self.spike_pops)
        for j, p in enumerate(self.report_pops):
            rows = allc[:, k0 + j]
            n_rows = int(rows.max())
            if n_rows == 0:
                continue
            if int(rows.min()) != n_rows:
                raise RuntimeError(f"voltmeter rows of {p} differ between ranks: {rows.tolist()}")
            g = self._obj(f"report/{p}")
            d, t = self._obj(f"report/{p}/data"), self._obj(f"report/{p}/times")
            old = d.shape[0]
            d.resize((old + n_rows, d.shape[1]))
            t.resize((old + n_rows,))
            st, v = smp[p]
            if self.rank == 0:
                t[old:old + n_rows] = st * self.dt
                self._set_report_stop(g, old + n_rows)
            cols = self.report_cols[p][self.rank]
            if cols.size:
                d[(slice(old, old + n_rows),) + (_col_selection(cols),)] = v
        m = self._obj("meta")
        m.attrs["t_flushed_ms"] = t_ms
        m.attrs["t_sim_ms"] = t_ms
        self.f.flush()

    def _flush_gathered(self, parts, t_ms):
        for p in self.spike_pops:
            gids = np.concatenate([q[0][p][0] for q in parts])
            st = np.concatenate([q[0][p][1] for q in parts])
            if gids.size == 0:
                continue
            ids, ts = self._obj(f"spikes/{p}/node_ids"), self._obj(f"spikes/{p}/timestamps")
            old = ids.shape[0]
            ids.resize((old + gids.size,))
            ts.resize((old + gids.size,))
            ids[old:] = gids.astype(np.uint64)
            ts[old:] = st * self.dt
        for p in self.report_pops:
            rows = [q[1][p][0].size for q in parts]
            n_rows = max(rows)
            if n_rows == 0:
                continue
            if min(rows) != n_rows:
                raise RuntimeError(f"voltmeter rows of {p} differ between ranks: {rows}")
            full = np.empty((n_rows, self.report_gids[p].size))
            for r, q in enumerate(parts):
                full[:, self.report_cols[p][r]] = q[1][p][1]
            g = self._obj(f"report/{p}")
            d, t = self._obj(f"report/{p}/data"), self._obj(f"report/{p}/times")
            old = d.shape[0]
            d.resize((old + n_rows, d.shape[1]))
            t.resize((old + n_rows,))
            d[old:] = full
            t[old:] = parts[0][1][p][0] * self.dt
            self._set_report_stop(g, old + n_rows)
        m = self._obj("meta")
        m.attrs["t_flushed_ms"] = t_ms
        m.attrs["t_sim_ms"] = t_ms
        self.f.flush()

    # ------------------------------------------------------------ close
    def close(self, sim=None):
        """Final flush, write run facts from ``sim.info()`` to /meta, close the file
        (collective). Returns None; a second call does nothing."""
        if self.closed:
            return
        if self.sim is None:  # never begun: nothing was created
            self.closed = True
            return
        sim = sim if sim is not None else self.sim
        if sim.step != self.flushed_step:  # same decision on every rank
            self.flush(sim.step)
        if getattr(sim, "plastic", None) is not None:
            self.write_edges(sim)
        info = sim.info()  # collective on every rank
        final = {k: info[k] for k in ("build_time_s", "sim_time_s", "rtf", "n_synapses",
                                      "peak_rss_bytes", "t_sim_ms")}
        final["t_flushed_ms"] = self.t_flushed_ms
        # 1 only when the run reached its end; a stopped (signal) or killed run keeps 0, so
        # the file tells what mpirun's exit code may not
        final["complete"] = np.int8(0 if getattr(sim, "stopped", False) else 1)
        if getattr(sim, "failure", None):  # the run stopped on an error (engine.NonFiniteState)
            final["error"] = str(sim.failure)

        def write_final(final):
            m = self.f["meta"]
            for k, v in final.items():
                m.attrs[k] = v
            self.f.close()
            self.f = None

        self._on_writer(write_final, final)
        self.closed = True


    def write_edges(self, sim, snapshot_step=None):
        """Write the current weights of every plastic projection into /edges/<projection>
        (collective). Without ``snapshot_step``: the final ``source_node_id``,
        ``target_node_id`` and ``weight`` (replaced if a stopped run wrote them before);
        with it: ``weight_t<ms>`` (the weights at ``snapshot_step`` x dt, attribute ``t_ms``),
        plus the id columns if absent. Every column is in one order for any number of ranks
        (target-major: by target, then source, a pair's multapses in their row order), so
        the file is the same bit for bit. mpio: each rank writes its targets' blocks; else
        gathered to rank 0. Memory: bounded blocks of about ``_EDGE_BLOCK`` synapses."""
        net = sim.net
        names = edge_names(net)
        ranges = sim.gid_ranges
        direct = self.mode == "mpio" or self.size == 1
        for t in sim.plastic.tables:
            pr = net.projections[t.pid]
            t_lo, t_hi = ranges[pr.target]
            s_off = t.src_lo - ranges[pr.source][0]  # population-local id of source row 0
            # global in-degree of every target gid of this projection -> file offsets
            counts = np.bincount(t.tgt, minlength=sim.n_local)[:sim.n_local].astype(np.int64)
            mine = np.flatnonzero(counts)
            parts = self.comm.allgather((mine * self.size + self.rank, counts[mine]))
            indeg = np.zeros(t_hi - t_lo, np.int64)
            for g, c in parts:
                indeg[g - t_lo] = c
            off = np.concatenate([[0], np.cumsum(indeg)])
            total = int(off[-1])
            ids_needed = snapshot_step is None
            if snapshot_step is not None and direct:
                ids_needed = self._edge_has_no_ids(names[t.pid])
            elif snapshot_step is not None:
                ids_needed = self.comm.bcast(self._edge_has_no_ids(names[t.pid]) if self.rank == 0 else None)
            cols = (("source_node_id", np.uint64), ("target_node_id", np.uint64)) if ids_needed else ()
            t_snap = None if snapshot_step is None else round(snapshot_step * self.dt, 9)  # 73 x 0.1 -> 7.3
            wname = "weight" if snapshot_step is None else f"weight_t{_fmt_ms(t_snap)}"
            cols = cols + ((wname, np.float64),)

            def create(t=t, pr=pr, total=total, cols=cols, t_snap=t_snap):
                ids = cols[0][0] == "source_node_id"
                g = _edge_group(self.f, names[t.pid], [c[0] for c in cols] + (["edge_type_id"] if ids else []))
                g.attrs["source_population"] = pr.source
                g.attrs["target_population"] = pr.target
                g.attrs["synapse_model"] = pr.synapse["model"]
                g.attrs["projection"] = t.pid
                g.attrs["order"] = "target-major"
                from ..models import MODELS
                g.attrs["units"] = MODELS[net.population(pr.target).model].weight_unit
                for key, dt in cols:
                    ds = g.create_dataset(key, shape=(total,), dtype=dt)
                    if key.startswith("weight_t"):
                        ds.attrs["t_ms"] = t_snap
                    if key.startswith("weight"):  # SONATA: edge attributes of group 0 (a hard link)
                        g["0"][key] = ds
                    else:
                        ds.attrs["node_population"] = pr.source if key == "source_node_id" else pr.target
                if ids:  # SONATA's edge type of every edge (none here: 0; int8, the fill value)
                    g.create_dataset("edge_type_id", shape=(total,), dtype=np.int8, fillvalue=0)
                if snapshot_step is not None:
                    ts = sorted(float(v.attrs["t_ms"]) for k, v in g.items() if k.startswith("weight_t"))
                    g.attrs["snapshot_times_ms"] = np.array(ts, np.float64)
                return g

            blocks = _edge_blocks(t, off, self.size, self.rank, t_lo, s_off, ids_needed)
            if direct:  # mpio: every rank; one rank: the file is this rank's
                g = create()
                dss = [g[key] for key, _ in cols]
                for f0, vals in blocks:
                    for ds, v in zip(dss, vals):
                        ds[f0:f0 + v.size] = v
            else:
                gathered = self.comm.gather(list(blocks))

                def write(gathered, create=create, cols=cols):
                    g = create()
                    dss = [g[key] for key, _ in cols]
                    for bl in gathered:
                        for f0, vals in bl:
                            for ds, v in zip(dss, vals):
                                ds[f0:f0 + v.size] = v

                self._on_writer(write, gathered)
        if self.mode == "mpio" or self.rank == 0:
            self.f.flush()

    def _edge_has_no_ids(self, name):
        """True if /edges/<name> lacks its id columns (file holders only)."""
        e = self.f.get("edges")
        return e is None or name not in e or "source_node_id" not in e[name]


#: synapses per block when /edges columns are put in order and written (bounded memory)
_EDGE_BLOCK = 1 << 20


def _fmt_ms(t):
    """A time in ms as it appears in a dataset name: "100", "0.5" (shortest exact form)."""
    return f"{int(round(t))}" if abs(t - round(t)) < 1e-9 else repr(float(t))


def _edge_blocks(t, off, size, rank, t_lo, s_off, with_ids):
    """Yield (file offset, (source ids, target ids, weights) or (weights,)) for the synapses of
    plastic table ``t`` in target-major order, one contiguous file range per yield (a local
    target's in-synapses; consecutive targets merged when they are adjacent in the file), in
    blocks of about ``_EDGE_BLOCK`` synapses. ``off[k]``: file offset of target gid t_lo + k;
    ``s_off``: population-local id of the table's first source row."""
    tgt = t.tgt
    n_loc = int(tgt.max()) + 1 if tgt.size else 0
    counts = np.bincount(tgt, minlength=n_loc).astype(np.int64)
    cum = np.concatenate([[0], np.cumsum(counts)])
    j0 = 0
    while j0 < n_loc:
        j1 = int(np.searchsorted(cum, cum[j0] + _EDGE_BLOCK, side="right")) - 1
        j1 = min(n_loc, max(j1, j0 + 1))
        sel = np.flatnonzero((tgt >= j0) & (tgt < j1))
        src = np.searchsorted(t.row_ptr, sel, side="right") - 1
        tj = tgt[sel].astype(np.int64)
        o = np.lexsort((src, tj))  # stable: a pair's multapses keep their row order
        sel, src, tj = sel[o], src[o], tj[o]
        w = t.w[sel]
        js = np.arange(j0, j1, dtype=np.int64)
        js = js[counts[j0:j1] > 0]
        fstart = off[js * size + rank - t_lo]
        lstart = cum[js] - cum[j0]
        c = counts[js]
        # merge runs of targets that are adjacent in the file (one rank: all of them)
        brk = np.flatnonzero(fstart[1:] != fstart[:-1] + c[:-1]) + 1
        for a, b in zip(np.concatenate([[0], brk]), np.concatenate([brk, [js.size]])):
            l0, l1 = int(lstart[a]), int(lstart[b - 1] + c[b - 1])
            if with_ids:
                vals = ((src[l0:l1] + s_off).astype(np.uint64),
                        (tj[l0:l1] * size + rank - t_lo).astype(np.uint64), w[l0:l1])
            else:
                vals = (w[l0:l1],)
            yield int(fstart[a]), vals
        j0 = j1


def _edge_group(f, name, replace):
    """/edges/<name> (created if absent), its datasets named in ``replace`` deleted first (a
    stopped run wrote them before; collective in the mpio mode, like every structural change);
    snapshots (``weight_t<ms>``) of earlier segments are kept."""
    g = f.require_group("edges").require_group(name)
    g0 = g.require_group("0")
    for k in replace:
        if k in g0:
            del g0[k]
        if k in g:
            del g[k]
    return g


def edge_names(net):
    """dict projection index -> name of its /edges group ("<source>-><target>", with
    "#<index>" appended when several plastic projections join the same pair)."""
    pairs = {}
    for pid, pr in enumerate(net.projections):
        if pr.synapse is not None:
            pairs.setdefault((pr.source, pr.target), []).append(pid)
    out = {}
    for (a, b), pids in pairs.items():
        for pid in pids:
            out[pid] = f"{a}->{b}" if len(pids) == 1 else f"{a}->{b}#{pid}"
    return out


def read_edges(path):
    """dict name -> {"source_node_id", "target_node_id", "weight": arrays, "snapshots": dict
    t_ms -> weights (the ``weight_t<ms>`` datasets), "attrs": dict} of every /edges group of an
    output file (``weight`` is absent when the run stopped before its end)."""
    h5py = _h5py()
    out = {}
    with h5py.File(path, "r") as f:
        for name, g in f.get("edges", {}).items():
            out[name] = {k: g[k][()] for k in ("source_node_id", "target_node_id", "weight") if k in g}
            out[name]["snapshots"] = dict(sorted((float(v.attrs["t_ms"]), v[()]) for k, v in g.items()
                                                 if k.startswith("weight_t")))
            out[name]["attrs"] = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in g.attrs.items()}
    return out


def _col_selection(cols):
    """A slice for an arithmetic progression of increasing column indices, else the list."""
    if cols.size == 1:
        return slice(int(cols[0]), int(cols[0]) + 1)
    step = int(cols[1] - cols[0])
    if step > 0 and np.all(np.diff(cols) == step):
        return slice(int(cols[0]), int(cols[-1]) + 1, step)
    return [int(c) for c in cols]


def _report_intervals(sim):
    """dict report name -> sampling interval (integer steps) of every recording of ``sim``."""
    out = {}
    for g in sim.groups:
        if g.rec is not None:
            for pop in g.pops:
                for var in g.rec_vars:
                    out[sim.report_name(pop.name, var)] = int(g.rec[1])
    return out


def read_spikes(path):
    """dict population -> (gids uint64, timestamps float64 ms) of an output file, in file
    order (serial, plain h5py); gid = ``gid_start`` + the file's population-local node_id."""
    h5py = _h5py()
    out = {}
    from analysis.spikes import check_layout
    with h5py.File(path, "r") as f:
        check_layout(f, path)
        for p, g in f["spikes"].items():
            ids = g["node_ids"][()] + np.uint64(g.attrs["gid_start"])
            out[p] = (ids, g["timestamps"][()])
    return out


def read_report(path):
    """dict population -> (gids uint64, times float64 ms, data float64 [time, node] in the
    variable's unit); gid = ``gid_start`` + the population-local mapping/node_ids."""
    h5py = _h5py()
    out = {}
    from analysis.spikes import check_layout
    with h5py.File(path, "r") as f:
        check_layout(f, path)
        for p, g in f.get("report", {}).items():
            ids = g["mapping"]["node_ids"][()] + np.uint64(g.attrs["gid_start"])
            out[p] = (ids, g["times"][()], g["data"][()])
    return out


def read_positions(path):
    """dict population -> float64 [n, ndim] positions (row = population-local node id) of
    the populations with positions (``/positions``; empty when there are none)."""
    h5py = _h5py()
    with h5py.File(path, "r") as f:
        return {k: v[()] for k, v in f["positions"].items()} if "positions" in f else {}
