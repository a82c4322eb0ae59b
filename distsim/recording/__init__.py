"""Recorders: what the engine hands spikes and samples to.

Interface (every method is called on every rank; ``begin``, ``after_slice`` and ``close``
in the same order on all ranks, so an implementation may use collectives there):
  begin(sim)                          before a run starts
  spikes(gids, stamps)                this rank's recorded spikes of one slice (int64, steps)
  samples(pop, gids, stamps, values)  voltmeter samples: values[t, k] of gids[k] at stamps[t]
  after_slice(sim, step)              after each slice; ``step`` is the next step to simulate
  close(sim)                          after the last run
"""
from .memory import MemoryRecorder
from .tee import TeeRecorder

__all__ = ["MemoryRecorder", "TeeRecorder"]
