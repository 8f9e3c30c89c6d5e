"""Lambda's SQS poller scaling: 5 batches at first, +300 a minute while the queue is full."""

from __future__ import annotations

from scripts.harness.lambda_local.scaling import Scaler


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_starts_with_five_pollers_or_the_maximum_if_lower() -> None:
    assert Scaler(50, clock=Clock()).start_initial() == 5
    assert Scaler(2, clock=Clock()).start_initial() == 2


def test_grows_by_at_most_300_a_minute_up_to_the_maximum() -> None:
    clock = Clock()
    scaler = Scaler(8, clock=clock)
    scaler.start_initial()
    assert not scaler.try_grow()  # no time has passed since the initial five
    grown = 0
    for _ in range(50):  # 10 s of full batches, one chance every 0.2 s
        clock.now += 0.2
        grown += scaler.try_grow()
    assert grown == 3
    assert scaler.active == 8


def test_a_minute_of_full_batches_adds_300() -> None:
    clock = Clock()
    scaler = Scaler(1000, clock=clock)
    scaler.start_initial()
    for _ in range(6000):  # polled every 10 ms for 60 s
        clock.now += 0.01
        scaler.try_grow()
    assert 5 + 299 <= scaler.active <= 5 + 300  # the 300th falls on the last tick (rounding)
    for _ in range(10):
        clock.now += 0.01
        scaler.try_grow()
    assert scaler.active == 5 + 300


def test_extra_pollers_retire_when_the_queue_is_empty_down_to_the_initial_five() -> None:
    clock = Clock()
    scaler = Scaler(7, clock=clock)
    scaler.start_initial()
    for _ in range(2):
        clock.now += 1
        assert scaler.try_grow()
    assert [scaler.try_retire() for _ in range(4)] == [True, True, False, False]
    assert scaler.active == 5
