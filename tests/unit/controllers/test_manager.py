"""The controller manager's command line, registry and root-task guard (no servers)."""

from __future__ import annotations

import asyncio

import pytest

from components.controllers.__main__ import parse_args
from components.controllers.manager import ControllerManager, ManagerConfig, available


def test_defaults_match_kubernetes() -> None:
    cfg = parse_args(["--nats", "nats://127.0.0.1:4222", "--prefix", "p"])
    assert cfg == ManagerConfig(nats_url="nats://127.0.0.1:4222", prefix="p", controllers=available(),
                                workers=4, node_monitor_grace_period=40.0, node_monitor_period=5.0,
                                node_startup_grace_period=60.0)


@pytest.mark.parametrize(("text", "seconds"), [("3", 3.0), ("2.5", 2.5), ("40s", 40.0), ("500ms", 0.5),
                                               ("5m", 300.0), ("1h", 3600.0)])
def test_durations(text: str, seconds: float) -> None:
    cfg = parse_args(["--nats", "n", "--node-monitor-grace-period", text, "--node-monitor-period", text])
    assert cfg.node_monitor_grace_period == seconds and cfg.node_monitor_period == seconds


@pytest.mark.parametrize("argv", [["--controllers", "nodelifecycle,hpa"], ["--node-monitor-grace-period", "soon"],
                                  ["--node-monitor-period", "0"], ["--node-monitor-grace-period", "-1"]])
def test_bad_arguments_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--nats", "n", *argv])


def test_unknown_controller_is_refused_by_the_manager_too() -> None:
    with pytest.raises(ValueError, match="unknown controllers"):
        ControllerManager(ManagerConfig(nats_url="n", controllers=("nope",)))


async def test_a_dead_root_task_fails_the_manager_but_a_cancelled_one_does_not() -> None:
    m = ControllerManager(ManagerConfig(nats_url="n"))
    m.failed = asyncio.get_running_loop().create_future()

    async def forever() -> None:
        await asyncio.Event().wait()

    async def crash() -> None:
        raise RuntimeError("boom")

    quiet = m._spawn(forever(), "quiet")
    quiet.cancel()
    await asyncio.gather(quiet, return_exceptions=True)
    assert not m.failed.done()
    m._spawn(crash(), "crasher")
    why = await asyncio.wait_for(m.failed, 1)
    assert "crasher" in why and "boom" in why
