"""Recording of the distsim PyNN backend: distsim keeps each rank's recorded spikes and
samples in memory; PyNN's Recorder turns them into Neo blocks (and gathers those)."""
import numpy as np
from pyNN import recording

from . import simulator


class Recorder(recording.Recorder):
    _simulator = simulator

    def __init__(self, population, file=None):
        recording.Recorder.__init__(self, population, file)
        self._initial_rows = {}  # variable -> this rank's values at t = 0 (PyNN units)

    @property
    def _dpop(self):
        return self.population._dpop

    def _record(self, variable, new_ids, sampling_interval=None):
        """Every neuron of the population is recorded in distsim (PyNN filters by id)."""
        if variable.name == "spikes":
            self._dpop.record("spikes")
            return
        native = self.population.celltype.variable_map[variable.name]
        if sampling_interval is not None:
            self.sampling_interval = sampling_interval
        self._dpop.record(native, interval_ms=self.sampling_interval)

    def _capture_initial(self):
        """Values at t = 0 of the recorded variables (PyNN's signals start there)."""
        ct = self.population.celltype
        for variable in self.recorded:
            if variable.name != "spikes":
                native = ct.variable_map[variable.name]
                self._initial_rows[variable.name] = self._dpop.get(native, gather=None) * ct.scale_factors[variable.name]

    def _get_spiketimes(self, ids, clear=False):
        """{id: spike times (ms)} of this rank's recorded cells. The dict form, because PyNN's
        array form fails on a rank without cells of the population (its id_to_index of an
        empty array: PyNN issue 767)."""
        node, t = self._dpop.get_spikes(gather=None)
        gids = node + self._dpop.first_gid
        cut = np.searchsorted(gids, np.asarray([int(i) for i in ids], dtype=np.int64))
        end = np.searchsorted(gids, np.asarray([int(i) for i in ids], dtype=np.int64), side="right")
        return {int(i): t[a:b].copy() for i, a, b in zip(ids, cut, end)}

    def _get_all_signals(self, variable, ids, clear=False):
        ct = self.population.celltype
        native = ct.variable_map[variable.name]
        node, _, v = self._dpop.get_samples(native, gather=None)
        gids = node + self._dpop.first_gid
        want = np.asarray([int(i) for i in ids], dtype=np.int64)
        if want.size == 0:
            return np.empty((0, 0)), None
        cols = np.searchsorted(gids, want)
        first = self._initial_rows[variable.name][cols][None, :]
        return np.vstack([first, v[:, cols] * ct.scale_factors[variable.name]]), None

    def _local_count(self, variable, filter_ids=None):
        node, _ = self._dpop.get_spikes(gather=None)
        gids = node + self._dpop.first_gid
        return {int(i): int(np.sum(gids == int(i))) for i in self.filter_recorded(variable, filter_ids)}

    def get(self, variables, gather=False, filter_ids=None, clear=False, annotations=None, locations=None):
        """The recorded data as a Neo Block. ``gather`` (PyNN's default for get_data): every
        rank gets every cell's data (PyNN's own gather gives them to rank 0 only, so that a
        script indexing the data on another rank fails there alone and the ranks part ways),
        signal columns and spike trains in id order (PyNN issue 249)."""
        data = recording.Recorder.get(self, variables, gather=False, filter_ids=filter_ids, clear=clear,
                                      annotations=annotations, locations=locations)
        st = self._simulator.state
        if gather and st.num_processes > 1:
            data = _merge_blocks(st.comm.allgather(data))
        return data

    def _clear_simulator(self):
        pass

    def _reset(self):
        pass


def _merge_blocks(blocks):
    """One Neo Block from every rank's (same segments, each rank's cells): analog signal
    columns and spike trains sorted by channel id."""
    merged = blocks[0]
    for seg in merged.segments:
        for sig in seg.analogsignals:
            sig.segment = seg  # Neo's merge needs the back reference
    for block in blocks[1:]:
        for seg, mseg in zip(block.segments, merged.segments):
            for sig in seg.analogsignals:
                sig.segment = mseg
        merged.merge(block)
    for seg in merged.segments:
        seg.spiketrains = sorted(seg.spiketrains, key=lambda t: t.annotations["channel_id"])
        sigs = []
        for sig in seg.analogsignals:
            ch = sig.array_annotations.get("channel_index")
            if ch is not None and len(ch) > 1 and np.any(np.diff(ch) < 0):
                sig = sig[:, np.argsort(ch, kind="stable")]
            sigs.append(sig)
        seg.analogsignals = sigs
    return merged
