"""Concurrent fires in one process (a web server's threads) evaluate their guards side by
side: a guard reads the database, and one fire must not wait for another's reads."""

import threading
from types import SimpleNamespace
from typing import Any, cast

import pytest

from sip_engine.workflow import WorkflowRegistry
from sip_engine.workflow.context import TransitionContext
from sip_engine.workflow.guards import GUARDS


def test_two_threads_are_inside_a_guard_at_the_same_time(
    registry: WorkflowRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = registry.compiled("sip", 1)
    both_inside = threading.Barrier(2, timeout=5)

    def guard_that_waits_for_the_other(_ctx: TransitionContext) -> list[str]:
        both_inside.wait()  # BrokenBarrierError unless the other fire is in its guard too
        return []

    monkeypatch.setitem(GUARDS, "need_spans_two_parties", guard_that_waits_for_the_other)
    results: list[Any] = []

    def fire() -> None:
        ctx = SimpleNamespace(
            definition=compiled.definition,
            trigger=compiled.definition.triggers["forbered"],
            refusals=[],
        )
        try:
            results.append(compiled.run("upptack", cast(TransitionContext, ctx)))
        except threading.BrokenBarrierError as exc:
            results.append(exc)

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == ["forbered", "forbered"]
    assert not compiled.machine.models  # nothing left on this thread's machine either
