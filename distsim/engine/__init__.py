"""The simulation loop.

Contract of one min-delay slice ``[t0, t0 + M)`` (M = minimum network delay in steps):

1. the event lists of the slice's steps (network input delivered earlier) are added into
   the input rows (``R = M`` rows, row ``s % R`` for step ``s``): ordinary events, then
   events of spikes with a multiplicity, each in delivery order; then stimulators that
   bypass the network (spike_generator, current generators) add this slice's input;
2. every local neuron group is updated through all M steps in one jitted call of the generic
   driver ``kernels.driver.run_group`` (the same for every model), reading and clearing
   input row ``s % R`` in step ``s`` and drawing its Poisson input keyed by
   (device, gid, step) and its own noise (GIF escape noise, population-node spike numbers)
   keyed by (gid, step); a population node (gif_pop_psc_exp) emits one record per step
   whose multiplicity is its number of spikes, every other model multiplicity 1;
3. every rank joins the exchange, even with zero spikes: one Alltoallv of fixed-size slots,
   each a header (record count, stop flag) and spike records ``(gid, stamp, multiplicity)``;
   a second Alltoallv only in a slice where some rank had more records than a slot holds
   (every rank sees that in the headers; see ``engine.exchange``);
4. received spikes are sorted by (stamp, gid) and their synaptic events appended to the
   event list of their arrival step (``R_ev = max delay + M`` lists, recycled chunks); they
   arrive at step >= t0 + M because every delay is >= M;
5. recorders get this slice's spikes and samples; the output is flushed collectively at
   fixed simulated times.

Nothing in the loop depends on the number of ranks: random streams are keyed by gid, and the
delivery order is the global (stamp, gid) order, so every floating-point sum is the same.

Ranks x threads (issue 14). With T numba threads per rank (``Simulation(threads=T)``,
``distsim run --threads T``, ``DISTSIM_THREADS``) every thread owns fixed targets, and the
rule that keeps results bit-identical for any number of ranks AND threads is: **a thread
only computes values of neurons it owns, and every per-neuron sum is folded in the order
of one thread.** Concretely:

- update (step 2): each group's local neurons are split into T contiguous parts
  (``kernels.driver.ThreadParts``); thread c advances part c through all M steps of the
  slice (its input is complete, every delay being >= M): Poisson draws keyed by (device,
  gid, step) summed in device order, the model's update on views of its rows, its input
  rows cleared, its recorder columns. Each part writes its own output records; they are
  merged step by step in part order, i.e. in (stamp, local index) order, the one-thread
  output order;
- delivery (steps 1 and 4): the local targets are split into T contiguous parts with about
  equal in-degree (``engine.events.target_bounds``; not the update's parts: the two phases
  are separated by the end of a parallel region). Thread t owns the event lists of part t
  and its part of every synapse row (rows reordered by part once at build, stably, so each
  target's synapses keep their order); it appends the events of every received spike in
  (stamp, gid) order and later scatters its own lists into its own targets' input rows. A
  target's events are therefore added in (stamp, gid, synapse) order, ordinary then
  multiplicity events, exactly as with one thread;
- exchange, devices that bypass the network, recorders and checkpoints stay on the rank's
  main thread. A checkpoint stores pending events by target gid with each target's events
  in order, so it resumes on any number of ranks and threads; the thread count is recorded
  (``/meta`` n_threads, checkpoint ``n_threads_written``) as information only.

One thread runs the plain kernels (``run_group``, ``deliver``, ``scatter``) and never starts
numba's thread pool; T > 1 runs ``run_group_threads``, ``deliver_parts`` and
``scatter_parts`` (two parallel regions per slice, plus one per group).

Models and the driver (issue 15). A neuron model is one declaration (``distsim.models``:
parameters, state, recordables, derived constants and one numba function for one neuron or
one step of the whole group). ``Group.kernel_args`` builds, once per group, the grouped
arguments ``kernels.driver.GroupArgs`` (state and parameters as named tuples of the group's
own arrays, Poisson blocks, scratch); per slice the engine passes the input rows, output
arrays and a ``Rec`` (recorder request). ``run_group(g, t0, nsteps, R, rings, out, n_out,
rec)`` is a cached ``njit`` function with one specialisation per model; the engine calls
its compiled entry point directly (``typed_entry``: numba's per-call typing of ~50 arrays
cost 0.5 ms per call).

The compiled multi-slice loop (issue 14, ``engine.loop``). By default ``Simulation.run``
runs steps 1-5 for many slices in one numba call (``engine.loop.run_slices``): the groups'
``GroupArgs`` as one (heterogeneous) tuple through ``literal_unroll`` and ``run_group``, the
devices from arrays built once (spike_generator arrival steps, current schedules; Poisson
blocks are drawn inside ``run_group`` anyway), the exchange through the numba-callable seam
``comm.compiled`` (MPI called from numba, ``comm.mpi``; a copy on one rank), delivery with
the event pools grown inside the call, and recorded spikes and samples kept in buffers that
are handed to the recorder when the call returns. Python sees the run only at boundaries:
every ``chunk_ms`` of simulated time (10 ms by default), at each recorder flush
(``recorder.boundary()``), each checkpoint, a requested stop, a change of the exchange
capacity, and the end. The Python per-slice path (``Simulation._slice``, ``loop="python"``)
stays as the reference (tests compare the two bit for bit) and as the fallback for models
that check their state in Python after each slice (aeif_cond_exp) and for communicators
without a compiled exchange.

Non-finite state: once per slice (after step 2) every group's V_m (the model's first
recordable) is checked for NaN/inf (``kernels.finite``, one vectorised pass over the group).
A rank that finds one sends a stop request in that slice's header, so every rank stops after
the same slice; then every rank raises ``NonFiniteState`` naming the first such gid (the same
for any number of ranks), after the recorder got the slice's data and before any checkpoint.

Stop rule: a stop request (SIGTERM/SIGINT) is an int64 flag read by the compiled loop at
every slice and sent in the slot header; Python's signal handler can only set it between
compiled calls, so a signal takes effect in the first slice after the current chunk, on
every rank after the same slice.
"""
from .simulation import NonFiniteState, Simulation

__all__ = ["NonFiniteState", "Simulation"]
