"""NEST's time grid as distsim restates it (distsim.spec.nest_time), on cases NEST 3.10 was
seen to decide (tests/validation/test_nest_device_windows.py runs NEST itself on them)."""
import math

import pytest

from distsim.spec import Device, Network, Population, SpecError, validate
from distsim.spec.nest_time import (device_time_steps, ms_stamp_tics, ms_to_tics, spike_generator_stamps,
                                    step_current_stamps, tics_per_step)


@pytest.mark.parametrize("t,steps", [(2.9999, 30), (2.9995, 30), (3.0004, 30), (4.9999, 50), (-0.0004, 0),
                                     (-0.0014, 0), (1e-4, 0), (0.1, 1)])
def test_times_within_half_a_tic_go_to_the_grid(t, steps):
    assert spike_generator_stamps("t", [t], 0.1, 100) == [steps]


@pytest.mark.parametrize("t", [2.9994, 2.99949999, 3.0005, 3.00051, -0.0015, -0.1, -1.0, 0.05, math.inf, 1e300])
def test_times_off_the_grid_are_refused(t):
    with pytest.raises(SpecError, match=r"t\[0\].*multiples of dt_ms = 0.1.*allow_offgrid_times"):
        spike_generator_stamps("t", [t], 0.1, 100)


def test_allow_offgrid_times_rounds_up_to_the_end_of_the_step():
    assert spike_generator_stamps("t", [0.05, 1.05, 3.0001, 3.0005], 0.1, 100, allow_offgrid_times=True) \
        == [1, 11, 30, 31]
    assert spike_generator_stamps("t", [-1.0], 0.1, 100, allow_offgrid_times=True) == [-10]  # never sent
    assert spike_generator_stamps("t", [math.inf], 0.1, 100, allow_offgrid_times=True) == [math.inf]


def test_time_zero_needs_shift_now_spikes_and_order_is_checked_on_the_values_given():
    with pytest.raises(SpecError, match="cannot be 0"):
        spike_generator_stamps("t", [0.0], 0.1, 100)
    assert spike_generator_stamps("t", [-0.0004, 0.0, 1.0], 0.1, 100, shift_now_spikes=True) == [1, 1, 10]
    assert spike_generator_stamps("t", [0.0], 0.1, 100, shift_now_spikes=True, origin_steps=10) == [0]
    with pytest.raises(SpecError, match=r"t\[1\].*non-descending"):
        spike_generator_stamps("t", [1.0, 0.99995], 0.1, 100)  # the same step, but given descending
    assert spike_generator_stamps("t", [0.99995, 1.0, 1.0], 0.1, 100) == [10, 10, 10]
    with pytest.raises(SpecError, match="numbers"):
        spike_generator_stamps("t", [float("nan")], 0.1, 100)


def test_step_current_times():
    assert step_current_stamps("a", [0.1, 2.9999, 5.0001], 0.1, 100) == [1, 30, 50]
    for bad in ([0.0], [1e-4], [-1.0], [2.9999, 3.0], [1.0, 1.0], [1.0, 0.5], [0.05]):
        with pytest.raises(SpecError):
            step_current_stamps("a", bad, 0.1, 100)
    assert step_current_stamps("a", [0.05, 0.1504], 0.1, 100, allow_offgrid_times=True) == [1, 2]
    with pytest.raises(SpecError, match=r"a\[1\].*strictly increasing"):  # 0.05 -> 0.1 and 0.1004 ~ 0.1
        step_current_stamps("a", [0.05, 0.1004], 0.1, 100, allow_offgrid_times=True)


def test_tic_arithmetic():
    assert ms_to_tics(2.9999, 100) == 3000 and ms_to_tics(-1.0, 100) == -999  # truncation toward zero
    assert ms_stamp_tics(1.05, 100) == 1100 and ms_stamp_tics(1.0, 100) == 1000
    assert device_time_steps(0.99995, 100) == 10 and device_time_steps(0.05, 100) is None
    assert device_time_steps(math.inf, 100) == math.inf
    assert tics_per_step(0.1) == 100 and tics_per_step(0.1001) is None and tics_per_step(1 / 3) is None


def test_device_windows_refuse_times_off_the_grid():
    def dev(**p):
        return Network([Population("n", "iaf_psc_delta", 1)],
                       devices=[Device("dc_generator", ["n"], dict(p, amplitude_pA=1.0))], dt_ms=0.1)
    validate(dev(start_ms=0.99995, stop_ms=2.0004, origin_ms=0.3))
    for k in ("start_ms", "stop_ms", "origin_ms"):
        with pytest.raises(SpecError, match=f"{k}.*multiple of dt_ms"):
            validate(dev(**{k: 0.05}))
    with pytest.raises(SpecError, match="stop_ms.*>= start_ms"):
        validate(dev(start_ms=2.0, stop_ms=1.0))


def test_microcircuit_dc_stimulus_has_nest_examples_delay():
    """NEST's Potjans_2014 example connects its dc_generators with the default delay, 1 ms
    (pynest/examples/Potjans_2014/network.py, __connect_dc_stim_input)."""
    from distsim.networks.microcircuit import microcircuit

    net = validate(microcircuit(N_scaling=0.01, dc_stimulus=True))
    dcs = [d for d in net.devices if d.type == "dc_generator"]
    assert len(dcs) == 8 and all(d.params["delay_ms"] == 1.0 for d in dcs)
