"""Command line: ``distsim run | analyze | meanfield | models | warm``.

    mpirun -n R distsim run MODEL_OR_FILE --seed S --t-sim MS [--t-presim MS] [--threads T]
                            [--set KEY=VALUE ...] -o OUT.h5 [--overwrite] [--checkpoint-every MS]
    mpirun -n R distsim run --resume OUT.h5 --t-sim MS [--threads T]
    distsim analyze OUT.h5 [--t-start MS] [--json]
    distsim meanfield MODEL_OR_FILE [--set KEY=VALUE ...] [--json]
    distsim models [NAME] [--json]

An error in the input names the field, its value and what is allowed, and stops every rank
before any work starts (exit code 2). Any other exception on one rank prints the rank and
the error and aborts the whole MPI job (exit code 1): it never hangs. A neuron whose V_m
becomes NaN or infinite stops every rank after the same slice (``engine.NonFiniteState``):
the output is flushed and closed (``/meta`` complete = 0 and error), no checkpoint is
written, rank 0 names the gid, population, model and time, and the exit code is 3 on every
rank. SIGTERM or SIGINT
(Ctrl-C) stops every rank of ``run`` at one step: the output is flushed, a checkpoint is
written if there is an output file, MPI is finalized and the exit code is 143 (SIGTERM) or
130 (SIGINT); during start-up nothing is written. A second SIGINT aborts at once.
"""
import argparse
import contextlib
import json
import os
import sys
import traceback


class Stopped(Exception):
    """Every rank agreed to stop before the simulation started (a signal during start-up)."""

    def __init__(self, signum):
        self.code = stop_exit_code(signum)
        super().__init__(f"stopped by {_signal_name(signum)} during start-up; nothing was written")


def _signal_name(signum):
    import signal
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def stop_exit_code(signum):
    """Exit code of a run stopped by signal ``signum``: 128 + signum (143 SIGTERM, 130 SIGINT)."""
    return 128 + int(signum)


class StopOnSignal:
    """SIGTERM and SIGINT handler of ``distsim run``: remembers the signal and asks the attached
    Simulation to stop (all ranks then stop at one step, see ``Simulation.request_stop``).

    Installed at the very start of ``main``, so a signal during imports or the build is kept
    and acted on at the next stop point (:meth:`check`) instead of killing the process with
    nothing said. A second SIGINT raises KeyboardInterrupt (under ``python -m mpi4py``: an
    MPI_Abort of the whole job); a second SIGTERM is ignored, so the stop that is already
    writing the checkpoint finishes.
    """

    SIGNALS = ("SIGTERM", "SIGINT")

    def __init__(self):
        self.signum = 0
        self.sim = None
        self._old = {}

    def install(self):
        """Take over SIGTERM and SIGINT (main thread only), forgetting earlier signals.
        Returns self."""
        import signal
        self.signum, self.sim = 0, None
        for name in self.SIGNALS:
            sig = getattr(signal, name)
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                break
        return self

    def uninstall(self):
        """Restore the previous handlers."""
        import signal
        for sig, h in self._old.items():
            signal.signal(sig, h)
        self._old = {}

    def _handle(self, signum, frame):
        import signal
        if self.signum and signum == signal.SIGINT:
            raise KeyboardInterrupt  # Ctrl-C twice: stop now
        if not self.signum:
            self.signum = int(signum)
        if self.sim is not None:
            self.sim.request_stop()

    def attach(self, sim):
        """Route later signals to ``sim``; a signal that came earlier stops it at once."""
        self.sim = sim
        if self.signum:
            sim.request_stop()

    def detach(self):
        """Stop routing signals to the Simulation."""
        self.sim = None

    def check(self, comm):
        """Stop point outside the simulation loop (every rank calls it at the same place):
        raise :class:`Stopped` on every rank if any rank got a signal."""
        signum = comm.allreduce_max(self.signum)
        if signum:
            self.signum = self.signum or signum
            raise Stopped(signum)


STOP = StopOnSignal()
STOP_CODES = (130, 143)  # SIGINT, SIGTERM: every rank returns the same one (the signal is agreed)
NONFINITE_CODE = 3  # a neuron's state became NaN/inf (engine.NonFiniteState), on every rank


def _parse_sets(items):
    """dict KEY -> VALUE string of the ``--set`` items (see ``spec.overrides.parse_sets``)."""
    from .spec.overrides import parse_sets

    return parse_sets(items)


def load_model(model, sets):
    """Network for a built-in model name or a TOML parameter file, with --set overrides.
    Returns the validated Network; SpecError for any invalid or unknown key or value."""
    from .networks import build_builtin
    from .spec import network_from_dict, validate
    from .spec.network import parse_toml

    if model.endswith(".toml") or os.path.sep in model or os.path.exists(model):
        d = parse_toml(model)
        for k, v in sets.items():
            _set_path(d, k, v)
        return validate(network_from_dict(d))
    net = build_builtin(model, sets)
    return validate(net)


def _set_path(d, dotted, value):
    """Set ``a.b.c`` in nested dicts/lists (list items by index or by their ``name``)."""
    from .spec.overrides import set_path

    return set_path(d, dotted, value)


def check_output_path(path, overwrite, comm):
    """Raise SpecError on every rank if ``path`` is a directory, its folder is missing or not
    writable, or it (or a checkpoint ``path.ckpt`` of an earlier run) exists and ``overwrite``
    is False; decided on rank 0 and broadcast, so all ranks agree. Returns None."""
    from .engine.checkpoint import checkpoint_path
    from .recording.lock import output_path_problem
    from .spec import SpecError

    problem = None
    if comm.rank == 0:
        why = output_path_problem(path)
        if why:
            problem = ("-o", path, why)
        elif os.path.exists(path) and not overwrite:
            problem = ("-o", path, "exists; pass --overwrite to replace it")
        elif os.path.exists(checkpoint_path(path)) and not overwrite:
            problem = ("-o", path, f"has a checkpoint {checkpoint_path(path)} of an earlier run beside it; "
                                   f"continue that run with --resume {path}, or pass --overwrite to discard it")
    problem = comm.bcast(problem)
    if problem:
        raise SpecError(*problem)


def check_run_times(args, dt_ms):
    """Refuse run times off the dt grid before any work (SpecError), as NEST's Simulate does:
    --t-sim and --t-presim must be multiples of dt (>= 0), --checkpoint-every and
    --flush-interval positive multiples of dt. Nothing is rounded."""
    from .spec.times import grid_steps

    grid_steps("--t-sim", args.t_sim, dt_ms)
    if not args.resume:
        grid_steps("--t-presim", args.t_presim, dt_ms)
    if args.checkpoint_every is not None:
        grid_steps("--checkpoint-every", args.checkpoint_every, dt_ms, positive=True)
    grid_steps("--flush-interval", args.flush_interval, dt_ms, positive=True)
    if getattr(args, "weights_every", None) is not None:
        grid_steps("--weights-every", args.weights_every, dt_ms, positive=True)


def check_memory(net, comm, args):
    """Estimate the memory per rank of ``net`` (``spec.memory.estimate``) and compare it with
    what this node can give each of its ranks (MemAvailable or the cgroup limit, divided by
    the ranks on the node). Rank 0 prints the estimate; every rank raises the same SpecError
    when any rank would run short, unless --no-memory-check or DISTSIM_MEMORY_CHECK=0."""
    import socket

    from .spec import SpecError
    from .spec.memory import SAFETY, current_rss_bytes, estimate, gib, node_available_bytes

    est = estimate(net, comm.size)
    need = est["total_bytes"] * SAFETY
    host = socket.gethostname()
    hosts = comm.allgather(host)
    on_node = hosts.count(host)
    avail, src = node_available_bytes()
    # the fixed part is already resident in this process (and out of MemAvailable)
    extra = max(0.0, need - max(current_rss_bytes(), 0))
    report = (host, on_node, avail, src, extra)
    reports = comm.allgather(report)
    enabled = not args.no_memory_check and os.environ.get("DISTSIM_MEMORY_CHECK", "1") != "0"
    if comm.rank == 0 and not args.quiet:
        print(f"[distsim] memory estimate per rank: {gib(est['total_bytes'])} (synapses "
              f"{gib(est['synapse_bytes'])} for ~{est['n_synapses']:,} in total, neurons "
              f"{gib(est['neuron_bytes'])}, pending events {gib(est['event_bytes'])}, fixed "
              f"{gib(est['fixed_bytes'])}) on {comm.size} rank(s)", file=sys.stderr, flush=True)
    bad = [r for r in reports if r[2] is not None and r[4] > r[2] / r[1]]
    if bad and enabled:
        h, n, av, sr, ex = bad[0]
        raise SpecError("memory estimate", f"{gib(est['total_bytes'])} per rank",
                        f"with a {SAFETY:g}x margin {gib(ex)} more than each rank already holds, but "
                        f"{h} has {gib(av / n)} per rank ({sr} {gib(av)} / {n} rank(s) on the node); "
                        "use more nodes or a smaller model, or pass --no-memory-check "
                        "(or DISTSIM_MEMORY_CHECK=0) to build anyway")
    return est


def remove_stale_checkpoint(path, comm):
    """With --overwrite: delete the checkpoint (and its temporary file) of an earlier run beside
    ``path`` on rank 0, so that it can never be resumed into the new output (collective).
    Returns None."""
    from .engine.checkpoint import checkpoint_path

    if comm.rank == 0:
        for p in (checkpoint_path(path), checkpoint_path(path) + ".tmp"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(p)
    comm.barrier()


def check_resume_args(args, head=None, net_of_model=None):
    """SpecError unless the model, --set, --seed, --t-presim and -o given with --resume describe
    the checkpointed run (``head``, see ``checkpoint.read_checked``; None: check only what needs
    no checkpoint): they are taken from the checkpoint, and a different value would otherwise
    be ignored silently. --overwrite is refused. ``net_of_model``: the network built from the
    given model and --set. Returns None."""
    from .recording.identity import spec_json, spec_sha256
    from .spec import SpecError

    if args.overwrite:
        raise SpecError("--overwrite", True, "cannot be combined with --resume (which continues the file)")
    if args.output is not None and os.path.realpath(args.output) != os.path.realpath(args.resume):
        raise SpecError("-o", args.output, f"differs from --resume {args.resume}; a resumed run "
                                           "continues its own output file (leave -o out)")
    if args.set and not args.model:
        raise SpecError("--set", args.set, "with --resume needs the model too (it must equal the "
                                           "checkpoint's network), or leave --set out")
    if head is None:
        return
    ck = head["path"]
    if args.seed is not None and args.seed != head["seed"]:
        raise SpecError("--seed", args.seed, f"differs from the seed {head['seed']} of the checkpoint "
                                             f"{ck}; leave --seed out to continue it")
    if args.t_presim and args.t_presim != head["t_presim_ms"]:
        raise SpecError("--t-presim", args.t_presim, f"differs from the {head['t_presim_ms']} ms of the "
                                                     f"checkpoint {ck}; leave --t-presim out")
    if net_of_model is not None and spec_sha256(spec_json(net_of_model)) != head["spec_sha256"]:
        where, was, now = spec_difference(head["spec"], json.loads(spec_json(net_of_model)))
        raise SpecError("model", args.model, f"with these --set values ({', '.join(args.set or []) or 'none'}) "
                                             f"is not the network of the checkpoint {ck}: {where} is "
                                             f"{json.dumps(now)} here, {json.dumps(was)} in the checkpoint; "
                                             "leave the model and --set out to continue it")


def spec_difference(a, b, path="network"):
    """(dotted path, value in a, value in b) of the first difference between two spec dicts
    (``Network.to_dict``; list items named by their ``name``, else by source->target or
    index), or None when they are equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}", a.get(k), b.get(k)
            d = spec_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path} (number of entries)", len(a), len(b)
        for i, (x, y) in enumerate(zip(a, b)):
            label = i
            if isinstance(x, dict):
                label = x.get("name") or (f"{x['source']}->{x['target']}#{i}" if "source" in x else i)
            d = spec_difference(x, y, f"{path}[{label}]")
            if d:
                return d
        return None
    return None if a == b else (path, a, b)


def cmd_run(args, comm):
    """Build and simulate (or resume); write the output file. Returns the exit code. The output
    file is locked (``OUT.h5.lock``) from start-up until this returns or raises."""
    with contextlib.ExitStack() as cleanup:
        return _run(args, comm, cleanup)


def _run(args, comm, cleanup):
    """cmd_run's body; ``cleanup`` (an ExitStack) releases the output lock at every exit."""
    from .engine import NonFiniteState, Simulation
    from .engine import checkpoint as ckpt
    from .recording.identity import check_output_for_resume, new_run_id, on_rank0
    from .recording.lock import acquire_output_lock
    from .spec import SpecError, network_from_dict, validate

    # run times are checked against the model's dt below (check_run_times), before the build
    positions = None
    overwrite = args.overwrite
    if args.resume:
        # the lock first: nothing may change the output or its checkpoint while they are checked
        output = args.resume
        cpath = ckpt.checkpoint_path(output)
        check_resume_args(args)
        lock = acquire_output_lock(output, None, comm, field="--resume")
        cleanup.callback(lock.release)
        head = on_rank0(comm, ckpt.read_checked, cpath, False)  # header checksum
        ckpt.verify_data(cpath, comm)  # data checksums, each rank a share of the chunks
        lock.note_run_id(head["run_id"])
        net = validate(network_from_dict(head["spec"]))
        check_resume_args(args, head, load_model(args.model, _parse_sets(args.set)) if args.model else None)
        seed, t_presim, run_id = head["seed"], head["t_presim_ms"], head["run_id"]
        positions, overwrite_flag = head["positions"], head["overwrite"]
        overwrite = on_rank0(comm, check_output_for_resume, output, head) == "replace"
    else:
        if not args.model:
            raise SpecError("model", None, "give a built-in model or parameter file, or --resume OUT.h5")
        net = load_model(args.model, _parse_sets(args.set))
        output, t_presim, overwrite_flag = args.output, args.t_presim, args.overwrite
        seed = 12345 if args.seed is None else args.seed
        run_id = new_run_id(comm)
        if output:
            lock = acquire_output_lock(output, run_id, comm)  # refuses a directory or read-only folder
            cleanup.callback(lock.release)
            check_output_path(output, args.overwrite, comm)  # under the lock: no other run writes now
            if args.overwrite:
                remove_stale_checkpoint(output, comm)
        elif args.checkpoint_every:
            raise SpecError("--checkpoint-every", args.checkpoint_every, "needs an output file (-o)")
    if args.weights_every is not None and not output:
        raise SpecError("--weights-every", args.weights_every, "needs an output file (-o)")
    check_run_times(args, net.dt_ms)
    check_memory(net, comm, args)
    STOP.check(comm)  # a signal during start-up: stop before the build
    sim = Simulation(net, seed=seed, comm=comm, recorder=None, progress=not args.quiet, threads=args.threads)
    info = sim.info()
    if comm.rank == 0 and not args.quiet:
        print(f"[distsim] {net.name}: {info['n_neurons']} neurons, {info['n_synapses']} synapses on "
              f"{comm.size} rank(s) x {sim.threads} thread(s), built in {info['build_time_s']:.2f} s",
              file=sys.stderr, flush=True)
    if args.resume:
        ckpt.restore(sim, cpath)
    dt = sim.dt
    presim_end = int(round(t_presim / dt))
    end = presim_end + int(round(args.t_sim / dt))
    if sim.step > end:
        raise SpecError("--t-sim", args.t_sim, f"the run is already at {sim.step * dt - t_presim} ms")
    STOP.check(comm)  # a signal during the build: stop before anything is written
    first_step = sim.step
    recorder = None
    if output:
        from .recording.hdf5 import HDF5Recorder
        recorder = HDF5Recorder(output, flush_interval_ms=args.flush_interval,
                                overwrite=overwrite, t_presim_ms=t_presim,
                                resume=positions if args.resume else None, run_id=run_id,
                                weights_every_ms=args.weights_every)

    def on_checkpoint(s):
        attrs = {"t_presim_ms": t_presim, "recording": 0, "overwrite": int(bool(overwrite_flag))}
        if s.recorder is not None:
            s.recorder.flush(s.step)
            attrs.update(s.recorder.positions())
            attrs["recording"] = 1
        ckpt.save(s, ckpt.checkpoint_path(output), attrs, run_id=run_id)
        if comm.rank == 0 and not args.quiet:
            print(f"[distsim] checkpoint at t = {s.step * dt:.1f} ms -> {ckpt.checkpoint_path(output)}",
                  file=sys.stderr, flush=True)

    hook = on_checkpoint if output else None
    STOP.attach(sim)
    presim_time_s = 0.0
    failure = None
    try:
        if sim.step < presim_end:
            sim.run_until(presim_end, args.checkpoint_every, hook)
            presim_time_s = sim.sim_time_s
            sim.reset_counts()  # count the recorded part only
        if not sim.stopped:
            sim.set_recorder(recorder)
            sim.run_until(end, args.checkpoint_every, hook)
    except NonFiniteState as e:  # raised on every rank after the same slice: close the output
        failure = e
    finally:
        STOP.detach()
    info = sim.info()
    if recorder is not None:
        if recorder.sim is None:  # nothing recorded yet (stopped during warm-up)
            recorder.closed = True
        else:
            recorder.close(sim)
    if failure is not None:
        if output and recorder is not None and recorder.sim is not None:
            kept = (f"{output} holds the run up to t = {recorder.t_flushed_ms:g} ms (/meta complete = 0, "
                    f"error); no checkpoint was written of this state")
        else:
            kept = "nothing was recorded" if output else "no output file was given"
        raise NonFiniteState(f"{failure}. {kept[0].upper()}{kept[1:]}.", failure.info) from None
    if sim.stopped:
        signum = comm.allreduce_max(STOP.signum) or 15  # the stop flag came from a signalled rank
        if comm.rank == 0:
            t_rec = max(0.0, sim.step * dt - t_presim)
            if output:
                what = (f"checkpoint and output are complete up to there. Resume with:\n"
                        f"  mpirun -n N python -m mpi4py -m distsim run --resume {output} --t-sim {args.t_sim:g}")
            else:
                what = "no output file was given, so nothing was kept."
            print(f"distsim: stopped by {_signal_name(signum)} at t = {sim.step * dt:.1f} ms "
                  f"({t_rec:.1f} ms recorded); {what}", file=sys.stderr, flush=True)
        return stop_exit_code(signum)
    if comm.rank == 0:
        out = {k: info[k] for k in ("n_neurons", "n_synapses", "n_ranks", "n_threads", "build_time_s",
                                    "peak_rss_bytes", "synapse_bytes", "n_spikes", "n_events")}
        out["presim_time_s"] = presim_time_s
        out["sim_time_s"] = info["sim_time_s"] - presim_time_s
        out["t_sim_ms"] = args.t_sim
        # real-time factor of what this process simulated (after --resume: the resumed part)
        t_done_ms = (end - max(first_step, presim_end)) * dt
        out["t_simulated_ms"] = t_done_ms
        out["rtf"] = out["sim_time_s"] / (t_done_ms * 1e-3) if t_done_ms > 0 else float("nan")
        print(json.dumps(out))
    return 0


def cmd_warm(args, comm):
    """Compile (and cache) every numba kernel by running a tiny network of each model, on one
    thread and on two (the threaded kernels: ``run_group_threads``, ``deliver_parts``,
    ``scatter_parts``)."""
    from .engine import Simulation
    from .spec import Device, Network, Population, Projection

    models = ("iaf_psc_delta", "iaf_psc_exp", "iaf_psc_alpha", "gif_psc_exp", "iaf_cond_exp", "iaf_cond_alpha",
              "aeif_cond_exp", "hh_psc_alpha")
    for model, T in ((m, t) for t in (1, 2) for m in models):
        net = Network([Population("A", model, 4, {"I_e": 1000.0, "V_m": {"dist": "normal", "mean": -70.0, "std": 1.0}})],
                      [Projection("A", "A", "fixed_indegree", weight=1.0, delay_ms=0.2, indegree=2),
                       Projection("A", "A", "fixed_total_number", weight={"dist": "normal", "mean": 1.0, "std": 0.1},
                                  delay_ms={"dist": "normal", "mean": 0.3, "std": 0.1, "min": 0.05}, n_total=5),
                       Projection("A", "A", "pairwise_bernoulli", weight=-1.0, delay_ms=0.1, p=0.5),
                       Projection("A", "A", "all_to_all", weight=1.0, delay_ms=0.1),
                       Projection("A", "A", "one_to_one", weight=1.0, delay_ms=0.1)],
                      [Device("poisson_generator", ["A"], {"rate_Hz": 1000.0, "weight": 1.0}),
                       Device("spike_generator", ["A"], {"spike_times_ms": [0.5], "weight": 1.0}),
                       Device("dc_generator", ["A"], {"amplitude_pA": 10.0}),
                       Device("ac_generator", ["A"], {"amplitude_pA": 10.0, "frequency_Hz": 50.0}),
                       Device("noise_generator", ["A"], {"std_pA": 10.0, "dt_ms": 0.2}),
                       Device("spike_recorder", ["A"]),
                       Device("voltmeter", ["A"], {"interval_ms": 0.1})])
        from .recording import MemoryRecorder
        Simulation(net, seed=1, comm=comm, recorder=MemoryRecorder(), threads=T).run(2.0)
    net = Network([Population("P", "gif_pop_psc_exp", 2, {"N": 10})],
                  [Projection("P", "P", "all_to_all", weight=1.0, delay_ms=0.5)],
                  [Device("step_current_generator", ["P"], {"amplitude_times_ms": [0.5], "amplitude_values_pA": [1.0]}),
                   Device("spike_recorder", ["P"]),
                   Device("multimeter", ["P"], {"interval_ms": 0.5, "record_from": ["n_events", "mean"]})], dt_ms=0.5)
    for T in (1, 2):  # population nodes: the multiplicity event lists, per thread too
        Simulation(net, seed=1, comm=comm, recorder=MemoryRecorder(), threads=T).run(2.0)
    # spatial rules: grid and free positions, profile, mask, distance-dependent delay
    grid = {"kind": "grid", "shape": [8], "extent": [1.0], "edge_wrap": True}
    net = Network([Population("G", "iaf_psc_exp", 8, {"I_e": 400.0}, positions=grid),
                   Population("F", "iaf_psc_exp", 6, {"I_e": 400.0},
                              positions={"kind": "free", "extent": [1.0, 1.0], "edge_wrap": True})],
                  [Projection("G", "G", "pairwise_bernoulli", weight=1.0, delay_ms={"d0": 0.5, "c": 1.0},
                              p={"profile": "gaussian", "std": 0.2}, mask={"kind": "circular", "radius": 0.4}),
                   Projection("F", "F", "fixed_indegree", weight=1.0, delay_ms=0.5, indegree=2,
                              p={"profile": "exponential", "beta": 0.3})],
                  [Device("spike_recorder", ["G", "F"])])
    Simulation(net, seed=1, comm=comm, recorder=MemoryRecorder()).run(2.0)
    _warm_exchange(comm)
    _warm_plastic(comm)
    _warm_builtin_loops(comm)
    if comm.size == 1:  # a serial warm fills the shared cache: mark it complete
        from . import _JOB, publish_compiled, shared_cache_dir, snapshot_warm_cache, write_warm_marker
        if _JOB:  # compiled into this process's job directory: into the shared cache first
            publish_compiled()
        write_warm_marker(shared_cache_dir() if _JOB else os.environ["NUMBA_CACHE_DIR"])
        if _JOB:
            try:
                snapshot_warm_cache(shared_cache_dir())
            except OSError as e:  # only the warm-coverage test's shortcut needs it
                print(f"[distsim] no snapshot of the warm cache ({e})", file=sys.stderr)
    if comm.rank == 0:
        from . import _JOB
        where = _JOB["shared"] if _JOB else os.environ["NUMBA_CACHE_DIR"]
        print(f"[distsim] numba kernels compiled into {where}", file=sys.stderr)
    return 0


def _warm_builtin_loops(comm):
    """The compiled step loop (``engine.loop``) is compiled once per tuple of the groups'
    types, so run the built-in models in the configurations users start from (small)."""
    from .engine import Simulation

    for name, sets in (("brunel", {"order": "20", "voltmeter": "2"}), ("brunel", {"order": "20"}),
                       ("microcircuit", {"N_scaling": "0.005", "K_scaling": "0.05", "thalamic": "true",
                                         "th_start": "5", "dc_stimulus": "true", "voltmeter": "2"}),
                       ("microcircuit", {"N_scaling": "0.01"}),
                       ("gif_populations", {"form": "meso", "size": "20", "n_voltmeter": "2"}),
                       ("gif_populations", {"form": "micro", "size": "20", "n_voltmeter": "2"}),
                       ("gif_populations", {"form": "micro_dense", "size": "20"}),
                       ("gif_populations", {}), ("ring", {"n_positions": "40"}),
                       ("coba", {"N_E": "40", "N_I": "10", "p_conn": "0.2"}),
                       ("hpc_benchmark", {"scale": "0.02", "indegree_scale": "0.02"}),
                       ("adex_brunel", {"order": "10"})):
        Simulation(load_model(name, sets), seed=1, comm=comm).run(1.0)
    # the RKF45 models without a built-in network, one population with a voltmeter (the form
    # of `distsim models`' examples)
    from .spec import Device, Network, Population, Projection
    for model in ("iaf_cond_exp", "iaf_cond_alpha", "aeif_cond_exp", "hh_psc_alpha"):
        net = Network([Population("A", model, 2, {"I_e": 1000.0})],
                      [Projection("A", "A", "fixed_indegree", weight=-1.0, delay_ms=0.5, indegree=1)],
                      [Device("poisson_generator", ["A"], {"rate_Hz": 1000.0, "weight": 1.0}),
                       Device("spike_recorder", ["A"]), Device("voltmeter", ["A"])])
        Simulation(net, seed=1, comm=comm).run(1.0)


def _warm_exchange(comm):
    """Compile the spike exchange, delivery and checkpoint kernels for every array layout a
    run meets: this network has slices with one spike (B) and with four at once (A,
    identical neurons), events still pending at the end, which ``pool_dump``/``pool_load``
    (checkpoints) move, and ``engine.exchange.warm_kernels`` the slot overflow path."""
    from .engine import Simulation
    from .recording import MemoryRecorder
    from .spec import Network, Population, Projection

    net = Network([Population("A", "iaf_psc_delta", 4, {"I_e": 1000.0, "V_m": -70.0}),
                   Population("B", "iaf_psc_delta", 1, {"I_e": 800.0, "V_m": -70.0})],
                  [Projection("A", "B", "all_to_all", weight=0.1, delay_ms=2.0),
                   Projection("B", "A", "all_to_all", weight=0.1, delay_ms=2.0)])
    for T in (1, 2):  # the delivery on one thread and on two (deliver_parts)
        sim = Simulation(net, seed=1, comm=comm, recorder=MemoryRecorder(), threads=T).run(10.0)
        sim.load_state(sim.state_dict())  # the checkpoint kernels (pool_dump, pool_load)
        sim.run(10.0)
    from .engine.exchange import warm_kernels
    warm_kernels()  # the slot overflow path too


def _warm_plastic(comm):
    """Compile the plastic synapse kernels (kernels.plastic, connectivity.plastic): every
    synapse model, constant and per-synapse delays, histories that grow, and a checkpoint
    round trip."""
    from .engine import Simulation
    from .recording import MemoryRecorder
    from .spec import Device, Network, Population, Projection

    d = {"dist": "uniform", "low": 0.1, "high": 0.4}
    net = Network([Population("A", "iaf_psc_alpha", 6, {"I_e": 1000.0, "tau_minus": 15.0})],
                  [Projection("A", "A", "all_to_all", weight=1.0, delay_ms=0.2,
                              synapse={"model": "stdp_pl_synapse_hom"}),
                   Projection("A", "A", "fixed_indegree", weight=1.0, delay_ms=d, indegree=3,
                              synapse={"model": "stdp_synapse"}),
                   Projection("A", "A", "all_to_all", weight=1.0, delay_ms=d,
                              synapse={"model": "tsodyks2_synapse"}),
                   Projection("A", "A", "all_to_all", weight=1.0, delay_ms=0.1,
                              synapse={"model": "tsodyks2_synapse"})],
                  [Device("spike_recorder", ["A"])])
    for loop in ("compiled", "python"):  # the kernels called from the compiled loop and from Python
        sim = Simulation(net, seed=1, comm=comm, recorder=MemoryRecorder(), loop=loop).run(30.0)
        fresh = Simulation(net, seed=1, comm=comm, recorder=MemoryRecorder(), loop=loop)
        fresh.load_state(sim.state_dict())  # a checkpoint round trip (the histories grow)
        fresh.run(5.0)


def cmd_analyze(args, comm):
    """Hand over to the dask post-analysis (``analysis.cli``); returns its exit code."""
    from analysis.cli import build_parser as analyze_parser
    from analysis.cli import run as analyze_run

    try:
        a = analyze_parser(prog="distsim analyze").parse_args(args.rest)
    except SystemExit as e:  # argparse: --help (0) and usage errors (2)
        return int(e.code or 0)
    return analyze_run(a)


def cmd_models(args, comm):
    """``distsim models [NAME] [--json]``: the built-in network models, neuron models,
    devices and connection rules with their parameters (defaults, units, allowed ranges),
    printed from the declarations validation uses. Returns the exit code."""
    from .catalog import catalog, describe

    if comm.rank != 0:
        return 0
    text = describe(args.name, as_json=args.json) if args.name else catalog(as_json=args.json)
    try:
        print(text, flush=True)
    except BrokenPipeError:  # e.g. | head: not an error; keep Python's exit flush quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def cmd_meanfield(args, comm):
    """Mean-field prediction of population rates (no simulation)."""
    from .meanfield.cli import main as mf_main

    return mf_main(args.rest)


def _builtin_names():
    try:
        from .networks import builtin_models
        return ", ".join(sorted(builtin_models()))
    except Exception:  # noqa: BLE001 - help text only
        return "brunel, gif_populations, microcircuit"


def build_parser():
    """The argparse parser of the ``distsim`` command."""
    from . import __version__

    p = argparse.ArgumentParser(prog="distsim", description="Distributed spiking network simulator",
                                epilog="'distsim models' lists the built-in models, neuron models and "
                                       "devices with their parameters; 'distsim COMMAND --help' the "
                                       "options of a command.")
    p.add_argument("--version", action="version", version=f"distsim {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    r = sub.add_parser("run", help="build and simulate a model",
                       description="Build and simulate a model on every MPI rank; write OUT.h5.",
                       epilog="Times are not rounded: --t-sim, --t-presim, --checkpoint-every and "
                              "--flush-interval must be multiples of the model's dt (as NEST's "
                              "Simulate). 'distsim models NAME' lists a model's --set parameters.")
    r.add_argument("model", nargs="?", help=f"built-in model ({_builtin_names()}) or parameter file (.toml)")
    r.add_argument("--seed", type=int, default=None,
                   help="random seed (default 12345; with --resume: the checkpoint's)")
    r.add_argument("--t-sim", type=float, required=True, help="recorded simulation time (ms, a multiple of dt)")
    r.add_argument("--t-presim", type=float, default=0.0, help="warm-up before recording (ms, a multiple of dt)")
    r.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a model parameter: a built-in model's argument (see 'distsim models "
                        "NAME') or a dotted path such as populations.E.params.tau_m")
    r.add_argument("-o", "--output", help="output HDF5 file")
    r.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    r.add_argument("--flush-interval", type=float, default=100.0,
                   help="output flush interval (ms, a multiple of dt)")
    r.add_argument("--weights-every", type=float, metavar="MS",
                   help="also write the weights of every plastic projection every MS of simulated time "
                        "(from t = 0, a multiple of dt) as /edges/<projection>/weight_t<ms> "
                        "(with --resume: default the stopped run's)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    r.add_argument("--checkpoint-every", type=float, metavar="MS",
                   help="write the full state beside the output (OUT.h5.ckpt) every MS of simulated "
                        "time (a multiple of dt)")
    r.add_argument("--resume", metavar="OUT.h5",
                   help="continue the run recorded in OUT.h5 (from OUT.h5.ckpt) up to --t-sim")
    r.add_argument("--threads", type=int, metavar="T", default=None,
                   help="numba threads per rank sharing the neuron update and the spike delivery "
                        "(default: $DISTSIM_THREADS, else 1); results are bit-identical for any "
                        "number of ranks and threads, and a checkpoint resumes with any")
    r.add_argument("--no-memory-check", action="store_true",
                   help="build even when the memory estimate exceeds what this node has "
                        "(also DISTSIM_MEMORY_CHECK=0)")
    sub.add_parser("warm", help="compile the numba kernels into the cache")
    m = sub.add_parser("models", help="list built-in models, neuron models and devices with their parameters",
                       description="Built-in network models, neuron models, devices and connection rules "
                                   "with their parameters (default, unit, allowed range), as validation "
                                   "checks them (NEST users: GetDefaults).")
    m.add_argument("name", nargs="?", help="a built-in model, neuron model, device or rule to describe")
    m.add_argument("--json", action="store_true", help="print JSON")
    for name, h in (("analyze", "dask post-analysis of an output file ('distsim analyze --help')"),
                    ("meanfield", "mean-field rate prediction ('distsim meanfield --help')")):
        a = sub.add_parser(name, help=h, add_help=False)
        a.add_argument("rest", nargs=argparse.REMAINDER)
    return p


def main(argv=None):
    """Entry point; returns the exit code (and aborts the MPI job on a one-rank failure)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("analyze", "meanfield"):
        # their own parsers see every argument, --help included
        args = argparse.Namespace(cmd=argv[0], rest=argv[1:])
    else:
        args = build_parser().parse_args(argv)
    if args.cmd == "warm":  # compiles the threaded kernels on 2 threads, also on 1 CPU
        from . import reserve_numba_threads
        reserve_numba_threads(2)
    if args.cmd != "run":
        return _main(args)
    if args.threads is not None:  # before numba is imported: it fixes its thread pool then
        from . import reserve_numba_threads
        reserve_numba_threads(args.threads)
    STOP.install()  # before the slow imports and the build
    try:
        return _main(args)
    finally:
        STOP.uninstall()  # main() may be called again in this process (tests, scripts)


def _main(args):
    """``main`` after argument parsing: run the command on this rank; returns the exit code."""
    from .comm import check_launch, get_comm
    from .engine.simulation import NonFiniteState
    from .spec import SpecError

    comm = get_comm(serial=args.cmd in ("analyze", "meanfield", "models"))
    handlers = {"run": cmd_run, "warm": cmd_warm, "analyze": cmd_analyze, "meanfield": cmd_meanfield,
                "models": cmd_models}
    try:
        check_launch(comm)
        code = handlers[args.cmd](args, comm)
        if args.cmd == "run" and code in STOP_CODES:
            comm.finalize()  # every rank stopped together: end MPI cleanly, not by MPI_Abort
        return code
    except Stopped as e:
        if comm.rank == 0:
            print(f"distsim: {e}", file=sys.stderr, flush=True)
        comm.finalize()
        return e.code
    except NonFiniteState as e:  # every rank stopped at the same slice and closed the output
        if comm.rank == 0:
            print(f"distsim: error: {e}", file=sys.stderr, flush=True)
        comm.finalize()
        return NONFINITE_CODE
    except SpecError as e:
        if comm.rank == 0:
            print(f"distsim: error: {e}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:  # a second Ctrl-C (or SIGINT outside ``run``): end every rank now
        print(f"distsim: rank {comm.rank} of {comm.size} interrupted", file=sys.stderr, flush=True)
        if comm.size > 1:
            comm.abort(130)
        return 130
    except Exception as e:  # noqa: BLE001 - one rank failing must end the whole job
        print(f"distsim: rank {comm.rank} of {comm.size} failed: {type(e).__name__}: {e}",
              file=sys.stderr, flush=True)
        traceback.print_exc()
        sys.stderr.flush()
        if comm.size > 1:
            comm.abort(1)
        return 1


if __name__ == "__main__":
    sys.exit(main())
