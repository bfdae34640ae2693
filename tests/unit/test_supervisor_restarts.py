"""A runner's supervisor restarts it at once on a generation's move, and only after a
pause when another writer moved the position (two workers that both believe they hold a
lease must not refuse each other's writes in a tight loop)."""

from __future__ import annotations

import threading
from typing import NoReturn

from infrastructure.runtime.runners import Supervisor
from projections.base import GenerationMovedError, PositionMovedError


def restarts_within(error: Exception, seconds: float) -> int:
    made = 0
    enough = threading.Event()

    def make_runner() -> NoReturn:
        nonlocal made
        made += 1
        if made >= 50:
            enough.set()
        raise error

    supervisor = Supervisor("probe", make_runner, restart_on=(GenerationMovedError,)).start()
    enough.wait(seconds)
    supervisor.stop()
    return made


def test_a_generation_move_restarts_the_runner_at_once() -> None:
    assert restarts_within(GenerationMovedError("g2"), 5.0) >= 50


def test_a_position_moved_by_another_writer_restarts_the_runner_after_a_pause() -> None:
    assert restarts_within(PositionMovedError("moved to 9"), 0.3) <= 2
