"""Recorders: what the engine hands spikes and samples to.

Interface (every method is called on every rank; ``begin``, ``after_slice`` and ``close``
in the same order on all ranks, so an implementation may use collectives there):
  begin(sim)                          before a run starts
  spikes(gids, stamps)                this rank's recorded spikes of one slice (int64, steps)
  samples(pop, gids, stamps, values)  voltmeter samples: values[t, k] of gids[k] at stamps[t]
  after_slice(sim, step)              after each slice; ``step`` is the next step to simulate
  close(sim)                          after the last run
  boundary()                          optional: the next step at which after_slice must be
                                      called (e.g. a flush), or None

``spikes`` and ``samples`` may carry several slices at once: the compiled loop
(``engine.loop``) buffers them and hands them over, and calls ``after_slice``, only at its
boundaries (every ``Simulation.chunk_ms`` of simulated time at most, at every ``boundary()``,
checkpoint and at the end), not after every slice.
"""
from .memory import MemoryRecorder
from .tee import TeeRecorder

__all__ = ["MemoryRecorder", "TeeRecorder"]
