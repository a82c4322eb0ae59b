"""The simulation loop.

Contract of one min-delay slice ``[t0, t0 + M)`` (M = minimum network delay in steps):

1. the event lists of the slice's steps (network input delivered earlier) are added into
   the input rows (``R = M`` rows, row ``s % R`` for step ``s``): ordinary events, then
   events of spikes with a multiplicity, each in delivery order; then stimulators that
   bypass the network (spike_generator, current generators) add this slice's input;
2. every local neuron group is updated through all M steps in one jitted call, reading and
   clearing input row ``s % R`` in step ``s`` and drawing its Poisson input keyed by
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
"""
from .simulation import Simulation

__all__ = ["Simulation"]
