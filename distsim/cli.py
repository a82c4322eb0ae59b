"""Command line: ``distsim run | analyze | meanfield | warm``.

    mpirun -n R distsim run MODEL_OR_FILE --seed S --t-sim MS [--t-presim MS]
                            [--set KEY=VALUE ...] -o OUT.h5 [--overwrite] [--checkpoint-every MS]
    mpirun -n R distsim run --resume OUT.h5 --t-sim MS
    distsim analyze OUT.h5 [--t-start MS] [--json]
    distsim meanfield MODEL_OR_FILE [--set KEY=VALUE ...] [--json]

An error in the input names the field, its value and what is allowed, and stops every rank
before any work starts (exit code 2). Any other exception on one rank prints the rank and
the error and aborts the whole MPI job (exit code 1): it never hangs. SIGTERM or SIGINT
(Ctrl-C) stops every rank of ``run`` at one step: the output is flushed, a checkpoint is
written if there is an output file, MPI is finalized and the exit code is 143 (SIGTERM) or
130 (SIGINT); during start-up nothing is written. A second SIGINT aborts at once.
"""
import argparse
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


def _parse_sets(items):
    out = {}
    for it in items or []:
        if "=" not in it:
            from .spec import SpecError
            raise SpecError("--set", it, "must be KEY=VALUE")
        k, v = it.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def load_model(model, sets):
    """Network for a built-in model name or a TOML parameter file, with --set overrides."""
    from .networks import build_builtin
    from .spec import SpecError, load_network, network_from_dict, validate

    if model.endswith(".toml") or os.path.sep in model or os.path.exists(model):
        if not sets:
            return load_network(model)
        import tomllib
        if not os.path.isfile(model):
            raise SpecError("parameter file", model, "does not exist")
        d = tomllib.loads(open(model).read())
        for k, v in sets.items():
            _set_path(d, k, v)
        net = network_from_dict(d)
        return validate(net)
    net = build_builtin(model, sets)
    return validate(net)


def _set_path(d, dotted, value):
    """Set ``a.b.c`` in nested dicts/lists (list items by index or by their ``name``)."""
    from .spec import SpecError

    try:
        value = json.loads(value)
    except (json.JSONDecodeError, TypeError):
        pass
    keys = dotted.split(".")
    cur = d
    for i, k in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(cur, list):
            match = [x for x in cur if isinstance(x, dict) and x.get("name") == k]
            if match:
                idx = cur.index(match[0])
            elif k.isdigit() and int(k) < len(cur):
                idx = int(k)
            else:
                raise SpecError(f"--set {dotted}", value, f"no list item '{k}'")
            if last:
                cur[idx] = value
            else:
                cur = cur[idx]
        elif isinstance(cur, dict):
            if last:
                cur[k] = value
            else:
                cur = cur.setdefault(k, {})
        else:
            raise SpecError(f"--set {dotted}", value, "does not name a parameter")


def check_output_path(path, overwrite, comm):
    """Raise SpecError on every rank if ``path`` exists and ``overwrite`` is False, or if its
    folder does not exist; decided on rank 0 and broadcast, so all ranks agree."""
    from .spec import SpecError

    problem = None
    if comm.rank == 0:
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.exists(path) and not overwrite:
            problem = ("-o", path, "exists; pass --overwrite to replace it")
        elif not os.path.isdir(folder):
            problem = ("-o", path, f"folder {folder} does not exist")
    problem = comm.bcast(problem)
    if problem:
        raise SpecError(*problem)


def cmd_run(args, comm):
    """Build and simulate (or resume); write the output file. Returns the exit code."""
    from .engine import Simulation
    from .engine import checkpoint as ckpt
    from .spec import SpecError, network_from_dict, validate

    for name in ("t_sim", "t_presim"):
        v = getattr(args, name)
        if not (v >= 0 and v == v and v != float("inf")):
            raise SpecError(f"--{name.replace('_', '-')}", v, "must be a finite number >= 0 (ms)")
    if args.checkpoint_every is not None and not (args.checkpoint_every > 0 and args.checkpoint_every != float("inf")):
        raise SpecError("--checkpoint-every", args.checkpoint_every, "must be a finite number > 0 (ms)")
    positions = None
    if args.resume:
        output = args.resume
        cpath = ckpt.checkpoint_path(output)
        step0, seed, spec = ckpt.read_header(cpath)
        attrs = ckpt.read_recorder_attrs(cpath)
        net = validate(network_from_dict(spec))
        t_presim = float(attrs.get("t_presim_ms", 0.0))
        positions = {k: v for k, v in attrs.items() if k.startswith(("spikes/", "report/"))} \
            if attrs.get("recording", 0) else None
    else:
        if not args.model:
            raise SpecError("model", None, "give a built-in model or parameter file, or --resume OUT.h5")
        net = load_model(args.model, _parse_sets(args.set))
        output, seed, t_presim = args.output, args.seed, args.t_presim
        if output:
            check_output_path(output, args.overwrite, comm)
        elif args.checkpoint_every:
            raise SpecError("--checkpoint-every", args.checkpoint_every, "needs an output file (-o)")
    STOP.check(comm)  # a signal during start-up: stop before the build
    sim = Simulation(net, seed=seed, comm=comm, recorder=None, progress=not args.quiet)
    info = sim.info()
    if comm.rank == 0 and not args.quiet:
        print(f"[distsim] {net.name}: {info['n_neurons']} neurons, {info['n_synapses']} synapses on "
              f"{comm.size} rank(s), built in {info['build_time_s']:.2f} s", file=sys.stderr, flush=True)
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
                                overwrite=args.overwrite, t_presim_ms=t_presim,
                                resume=positions if args.resume else None)

    def on_checkpoint(s):
        attrs = {"t_presim_ms": t_presim, "recording": 0}
        if s.recorder is not None:
            s.recorder.flush(s.step)
            attrs.update(s.recorder.positions())
            attrs["recording"] = 1
        ckpt.save(s, ckpt.checkpoint_path(output), attrs)
        if comm.rank == 0 and not args.quiet:
            print(f"[distsim] checkpoint at t = {s.step * dt:.1f} ms -> {ckpt.checkpoint_path(output)}",
                  file=sys.stderr, flush=True)

    hook = on_checkpoint if output else None
    STOP.attach(sim)
    presim_time_s = 0.0
    try:
        if sim.step < presim_end:
            sim.run_until(presim_end, args.checkpoint_every, hook)
            presim_time_s = sim.sim_time_s
            sim.n_spikes = sim.n_events = 0  # count the recorded part only
        if not sim.stopped:
            sim.recorder = recorder
            sim.run_until(end, args.checkpoint_every, hook)
    finally:
        STOP.detach()
    info = sim.info()
    if recorder is not None:
        if recorder.sim is None:  # nothing recorded yet (stopped during warm-up)
            recorder.closed = True
        else:
            recorder.close(sim)
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
        out = {k: info[k] for k in ("n_neurons", "n_synapses", "n_ranks", "build_time_s",
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
    """Compile (and cache) every numba kernel by running a tiny network of each model."""
    from .engine import Simulation
    from .spec import Device, Network, Population, Projection

    for model in ("iaf_psc_delta", "iaf_psc_exp", "gif_psc_exp"):
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
                       Device("spike_recorder", ["A"]),
                       Device("voltmeter", ["A"], {"interval_ms": 0.1})])
        from .recording import MemoryRecorder
        Simulation(net, seed=1, comm=comm, recorder=MemoryRecorder()).run(2.0)
    net = Network([Population("P", "gif_pop_psc_exp", 2, {"N": 10})],
                  [Projection("P", "P", "all_to_all", weight=1.0, delay_ms=0.5)],
                  [Device("step_current_generator", ["P"], {"amplitude_times_ms": [0.5], "amplitude_values_pA": [1.0]}),
                   Device("spike_recorder", ["P"]),
                   Device("multimeter", ["P"], {"interval_ms": 0.5, "record_from": ["n_events", "mean"]})], dt_ms=0.5)
    Simulation(net, seed=1, comm=comm, recorder=MemoryRecorder()).run(2.0)
    _warm_exchange(comm)
    if comm.rank == 0:
        print("[distsim] numba kernels compiled", file=sys.stderr)
    return 0


def _warm_exchange(comm):
    """Compile the spike exchange and checkpoint kernels for every array layout a run meets.

    ``sort_spikes`` and ``deliver`` get strided views of the received records, which numba
    types as layout 'A', or 'C' when a slice brings exactly one spike (numpy flags a
    one-element view contiguous); both versions were compiled on every MPI run before. So
    this network has slices with one spike (B) and with four at once (A, identical neurons),
    and events still pending at the end, which ``pool_dump``/``pool_load`` (checkpoints) move.
    """
    from .engine import Simulation
    from .recording import MemoryRecorder
    from .spec import Network, Population, Projection

    net = Network([Population("A", "iaf_psc_delta", 4, {"I_e": 1000.0, "V_m": -70.0}),
                   Population("B", "iaf_psc_delta", 1, {"I_e": 800.0, "V_m": -70.0})],
                  [Projection("A", "B", "all_to_all", weight=0.1, delay_ms=2.0),
                   Projection("B", "A", "all_to_all", weight=0.1, delay_ms=2.0)])
    sim = Simulation(net, seed=1, comm=comm, recorder=MemoryRecorder()).run(10.0)
    sim.events.load(sim.events.records(sim.rank, sim.size), sim.rank, sim.size)
    sim.run(10.0)


def cmd_analyze(args, comm):
    """Hand over to the dask post-analysis (``analysis.cli``)."""
    from analysis.cli import main as analyze_main

    return analyze_main(args.rest)


def cmd_meanfield(args, comm):
    """Mean-field prediction of population rates (no simulation)."""
    from .meanfield.cli import main as mf_main

    return mf_main(args.rest)


def build_parser():
    """The argparse parser of the ``distsim`` command."""
    p = argparse.ArgumentParser(prog="distsim", description="Distributed spiking network simulator")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="build and simulate a model")
    r.add_argument("model", nargs="?", help="built-in model (brunel, microcircuit) or parameter file (.toml)")
    r.add_argument("--seed", type=int, default=12345)
    r.add_argument("--t-sim", type=float, required=True, help="recorded simulation time (ms)")
    r.add_argument("--t-presim", type=float, default=0.0, help="warm-up before recording (ms)")
    r.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a model parameter")
    r.add_argument("-o", "--output", help="output HDF5 file")
    r.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    r.add_argument("--flush-interval", type=float, default=100.0, help="output flush interval (ms)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    r.add_argument("--checkpoint-every", type=float, metavar="MS",
                   help="write the full state beside the output (OUT.h5.ckpt) every MS of simulated time")
    r.add_argument("--resume", metavar="OUT.h5",
                   help="continue the run recorded in OUT.h5 (from OUT.h5.ckpt) up to --t-sim")
    sub.add_parser("warm", help="compile the numba kernels into the cache")
    for name, h in (("analyze", "dask post-analysis of an output file"),
                    ("meanfield", "mean-field rate prediction")):
        a = sub.add_parser(name, help=h, add_help=False)
        a.add_argument("rest", nargs=argparse.REMAINDER)
    return p


def main(argv=None):
    """Entry point; returns the exit code (and aborts the MPI job on a one-rank failure)."""
    args = build_parser().parse_args(argv)
    if args.cmd != "run":
        return _main(args)
    STOP.install()  # before the slow imports and the build
    try:
        return _main(args)
    finally:
        STOP.uninstall()  # main() may be called again in this process (tests, scripts)


def _main(args):
    """``main`` after argument parsing: run the command on this rank; returns the exit code."""
    from .comm import check_launch, get_comm
    from .spec import SpecError

    comm = get_comm(serial=args.cmd in ("analyze", "meanfield"))
    handlers = {"run": cmd_run, "warm": cmd_warm, "analyze": cmd_analyze, "meanfield": cmd_meanfield}
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
