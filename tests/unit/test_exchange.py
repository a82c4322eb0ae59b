"""The spike exchange: one collective per slice, slots that overflow into a second round and
grow, the stop flag in the header; spikes the same whatever the capacity."""
import numpy as np
import pytest

from distsim.comm import SerialComm
from distsim.engine import Simulation
from distsim.engine import exchange as ex
from distsim.engine.exchange import SpikeExchange, grown_capacity
from distsim.networks.brunel import brunel
from distsim.recording import MemoryRecorder

COLLECTIVES = ("barrier", "allreduce_sum", "allreduce_max", "allreduce_min", "exscan_sum", "bcast",
               "allgather", "gather", "alltoall_counts", "alltoallv")


class CountingComm(SerialComm):
    """SerialComm that counts every collective call (slot exchanges included)."""

    def __init__(self):
        self.calls = []
        for name in COLLECTIVES:
            setattr(self, name, self._counted(name, getattr(SerialComm, name).__get__(self)))

    def _counted(self, name, f):
        def call(*a, **k):
            self.calls.append(name)
            return f(*a, **k)
        return call

    def slot_exchange(self, sendbuf, slot_words, recvbuf):
        op = SerialComm.slot_exchange(self, sendbuf, slot_words, recvbuf)
        calls = self.calls

        class Op:
            def __call__(self):
                calls.append("slot_exchange")
                op()

            def free(self):
                op.free()
        return Op()


def _records(n, stamp0=0):
    idx = np.arange(n, dtype=np.int64)
    return idx, np.full(n, stamp0, np.int64) + idx % 3, np.ones(n, np.int64)


def test_one_collective_per_slice():
    """Before: an Alltoall of counts and an Alltoallv of records every slice (two)."""
    comm = CountingComm()
    sim = Simulation(brunel(order=10, delay=0.1), seed=3, comm=comm)
    comm.calls.clear()
    sim.run(20.0)
    n_slices = 20.0 / sim.dt / sim.min_delay
    assert sim.n_spikes > 0  # there were spikes to exchange
    assert len(comm.calls) == n_slices, {c: comm.calls.count(c) for c in set(comm.calls)}


def test_overflow_takes_a_second_round_and_grows():
    comm = CountingComm()
    x = SpikeExchange(comm, max_records=100, capacity=2)
    idx, st, mu = _records(7)
    g, s, m, stop = x.exchange(idx, st, mu, 7)
    assert np.array_equal(np.sort(g), idx) and not stop  # all 7, 2 in the slot and 5 after
    assert comm.calls == ["slot_exchange", "alltoallv"]
    assert x.stats() == {"capacity": grown_capacity(2, 7), "second_rounds": 1, "resizes": 1}
    assert x.capacity >= 7 + 7 // 4
    comm.calls.clear()
    g, s, m, _ = x.exchange(idx, st, mu, 7)
    assert comm.calls == ["slot_exchange"] and np.array_equal(g, idx) and np.array_equal(s, st)


def test_stop_flag_rides_in_the_header():
    x = SpikeExchange(SerialComm(), max_records=10, capacity=4)
    idx, st, mu = _records(3)
    assert x.exchange(idx, st, mu, 3, stop=True)[3] is True
    g, s, m, stop = x.exchange(idx, st, mu, 3, stop=False)
    assert stop is False and g.size == 3  # the flag is not mistaken for a count


def test_capacity_shrinks_after_a_quiet_stretch(monkeypatch):
    monkeypatch.setattr(ex, "SHRINK_AFTER", 5)
    x = SpikeExchange(SerialComm(), max_records=200, capacity=2)
    idx, st, mu = _records(100)
    x.exchange(idx, st, mu, 100)
    big = x.capacity
    assert big >= 125
    for _ in range(4):
        x.exchange(idx, st, mu, 1)
    assert x.capacity == big
    x.exchange(idx, st, mu, 1)
    assert x.capacity == big // 2


def test_exchange_rejects_more_records_than_its_buffer():
    x = SpikeExchange(SerialComm(), max_records=3)
    idx, st, mu = _records(4)
    with pytest.raises(ValueError, match="exceed"):
        x.exchange(idx, st, mu, 4)


def _spikes(capacity, monkeypatch):
    monkeypatch.setattr(ex, "INITIAL_CAPACITY", capacity)
    rec = MemoryRecorder()
    sim = Simulation(brunel(order=50, delay=0.1), seed=8, comm=SerialComm(), recorder=rec)
    sim.run(60.0)
    return rec.local_spikes(), sim.exchange.stats(), sim.n_events


def test_spikes_do_not_depend_on_the_capacity(monkeypatch):
    (g1, t1), s1, e1 = _spikes(1, monkeypatch)
    (g2, t2), s2, e2 = _spikes(4096, monkeypatch)
    assert s1["second_rounds"] > 0 and s2["second_rounds"] == 0  # both paths were taken
    assert g1.size > 100 and np.array_equal(g1, g2) and np.array_equal(t1, t2) and e1 == e2
