"""Memory-bounded analysis of distsim spike output (SONATA-style HDF5).

This package deliberately does not import ``distsim``: it reads any file in the
layout documented in :mod:`analysis.spikes` with plain h5py and dask, chunk by
chunk, so that a full-scale run (~2e8 spikes) is analysed in bounded memory.

Main entry points
-----------------
- :func:`analysis.spikes.analyze_file` -- one streaming pass per population,
  returns an :class:`analysis.spikes.AnalysisResult` (rates in spikes/s,
  times in ms, spectra in Hz).
- :func:`analysis.figures.plot_all` -- PNG figures of a result.
- :func:`analysis.cli.main` -- ``analyze OUT.h5 [...]`` command line.
- :func:`analysis.synthetic.write_synthetic` -- Poisson test files in the same layout.
"""

from analysis.spikes import AnalysisResult, PopulationResult, SpikeFile, analyze_file

__all__ = ["AnalysisResult", "PopulationResult", "SpikeFile", "analyze_file"]
