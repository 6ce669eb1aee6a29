"""The per-pod state machine: exact actions for each situation."""

from __future__ import annotations

import pytest

from components.kubelet.backoff import Backoff, BackoffPolicy
from components.kubelet.decide import (CreateSandbox, Finalize, KillContainer, Memory, Note, Plan, Remove,
                                       StartContainer, StopSandbox, decide, go_duration, pod_done, remember)
from core.podstatus import CONFIG_ERROR, CRASH_LOOP, ERR_IMAGE_PULL, IMAGE_PULL_BACKOFF, PodObs, Waiting
from tests.unit.kubelet.helpers import (NOW, PENDING, UID, container, created, exited, obs, pod, running,
                                        sandbox)

POLICY = BackoffPolicy(base=10.0, cap=300.0)


def plan(p: dict | None, o: PodObs, mem: Memory | None = None, now: float = NOW) -> Plan:
    return decide(p, o, mem or Memory(), now, POLICY)


# -- pods that go away ---------------------------------------------------------------------------
def test_gone_pod_with_nothing_left_is_forgotten() -> None:
    assert plan(None, obs()).actions == (Finalize(delete=False),)


def test_gone_pod_is_killed_removed_and_forgotten() -> None:
    sb, c = sandbox(), running()
    old = exited(attempt=0)
    c1 = running(attempt=1)
    p = plan(None, obs(sb, old, c1), Memory(grace=7))
    assert p.actions == (KillContainer(c1, 7, ""), StopSandbox(sb), Remove(old.id), Remove(c1.id),
                         Remove(sb.id, sandbox=True), Finalize(delete=False))
    assert c.name == "c"


def test_deleted_pod_stops_gracefully_then_completes_the_deletion() -> None:
    sb, c = sandbox(), running()
    p = plan(pod(deleting=12), obs(sb, c))
    assert p.actions == (KillContainer(c, 12, "Stopping container c"), StopSandbox(sb), Remove(c.id),
                         Remove(sb.id, sandbox=True), Finalize(delete=True))


def test_deleted_pod_that_never_ran_completes_at_once() -> None:
    assert plan(pod(deleting=30), obs()).actions == (Finalize(delete=True),)


def test_deleted_pending_sim_sandbox_is_stopped_too() -> None:
    sb = sandbox(state=PENDING, ready_at=NOW + 1)
    assert plan(pod(deleting=0), obs(sb)).actions == (StopSandbox(sb), Remove(sb.id, sandbox=True),
                                                      Finalize(delete=True))


# -- sandboxes -----------------------------------------------------------------------------------
def test_new_pod_gets_a_sandbox() -> None:
    assert plan(pod(), obs()).actions == (CreateSandbox(0),)


def test_dead_sandbox_kills_its_containers_first() -> None:
    c = running()
    p = plan(pod(), obs(sandbox(state="exited"), c))
    assert p.actions == (KillContainer(c, 30, "Pod sandbox changed, it will be killed and re-created."),)


def test_dead_sandbox_is_replaced_with_the_next_attempt() -> None:
    sb = sandbox(state="exited")
    assert plan(pod(), obs(sb, exited(code=137))).actions == (Remove(sb.id, sandbox=True), CreateSandbox(1))


def test_sandbox_failures_back_off() -> None:
    mem = Memory(backoff={"sandbox": Backoff(10.0, NOW - 4)})
    p = plan(pod(), obs(), mem)
    assert p.actions == () and p.requeue == pytest.approx(6.0)
    assert plan(pod(), obs(), mem, now=NOW + 6).actions == (CreateSandbox(0),)


def test_pending_sandbox_waits_until_ready() -> None:
    p = plan(pod(), obs(sandbox(state=PENDING, ready_at=NOW + 0.75)))
    assert p.actions == () and p.requeue == pytest.approx(0.75)


# -- starting ------------------------------------------------------------------------------------
def test_ready_sandbox_starts_every_app_container() -> None:
    sb = sandbox()
    p = plan(pod(container("a"), container("b")), obs(sb))
    assert p.actions == (StartContainer("a", False, 0, sb), StartContainer("b", False, 0, sb))


def test_init_containers_one_at_a_time_in_order() -> None:
    sb = sandbox()
    inits = [container("i1"), container("i2")]
    p0 = pod(container("app"), init=inits)
    assert plan(p0, obs(sb)).actions == (StartContainer("i1", True, 0, sb),)
    i1 = running("i1", init=True, spec=inits[0])
    assert plan(p0, obs(sb, i1)).actions == ()
    i1 = exited("i1", init=True, spec=inits[0])
    assert plan(p0, obs(sb, i1)).actions == (StartContainer("i2", True, 0, sb),)
    i2 = exited("i2", init=True, spec=inits[1])
    assert plan(p0, obs(sb, i1, i2)).actions == (StartContainer("app", False, 0, sb),)


def test_init_containers_run_again_in_a_new_sandbox() -> None:
    sb1 = sandbox(1)
    inits = [container("i1")]
    done_before = exited("i1", init=True, spec=inits[0], sandbox_attempt=0)
    assert plan(pod(init=inits), obs(sandbox(0, state="exited"), sb1, done_before)).actions == (
        Remove("sb0", sandbox=True), StartContainer("i1", True, 1, sb1))


def test_failed_init_container_restarts_with_back_off_unless_never() -> None:
    sb = sandbox()
    inits = [container("i1")]
    failed = exited("i1", code=1, init=True, spec=inits[0])
    p = plan(pod(init=inits), obs(sb, failed))
    assert p.actions == (StartContainer("i1", True, 1, sb),)
    assert p.backoff == {"crash:i1": Backoff(10.0, NOW)}
    never = plan(pod(init=inits, restart="Never"), obs(sb, failed))
    assert never.actions == (StopSandbox(sb),)


# -- restarts ------------------------------------------------------------------------------------
def test_first_crash_restarts_at_once_and_starts_the_back_off() -> None:
    sb = sandbox()
    p = plan(pod(), obs(sb, exited(code=1)))
    assert p.actions == (StartContainer("c", False, 1, sb),)
    assert p.backoff == {"crash:c": Backoff(10.0, NOW)}


def test_crash_loop_back_off_waits_and_says_why() -> None:
    sb = sandbox()
    mem = Memory(backoff={"crash:c": Backoff(20.0, NOW - 30)})
    p = plan(pod(), obs(sb, exited(attempt=2, code=1, finished=NOW - 5)), mem)
    assert p.actions == ()
    assert p.requeue == pytest.approx(15.0)
    msg = f"back-off 20s restarting failed container=c pod=p_ns({UID})"
    assert p.reasons == {"c": Waiting(CRASH_LOOP, msg)}
    assert p.notes == (Note("Warning", "BackOff", f"Back-off restarting failed container c in pod p_ns({UID})",
                            "spec.containers{c}"),)
    remember(mem, p)
    again = plan(pod(), obs(sb, exited(attempt=2, code=1, finished=NOW - 5)), mem, now=NOW + 1)
    assert again.notes == () and again.reasons == {}  # nothing new to say


def test_back_off_doubles_then_caps() -> None:
    sb = sandbox()
    mem = Memory(backoff={"crash:c": Backoff(160.0, NOW - 200)})
    p = plan(pod(), obs(sb, exited(attempt=5, code=1, finished=NOW - 170)), mem)
    assert p.actions == (StartContainer("c", False, 6, sb),)
    assert p.backoff == {"crash:c": Backoff(300.0, NOW)}


def test_back_off_resets_after_ten_minutes_of_running() -> None:
    sb = sandbox()
    mem = Memory(backoff={"crash:c": Backoff(300.0, NOW - 700)})
    p = plan(pod(), obs(sb, exited(attempt=3, code=1, started=NOW - 690, finished=NOW - 1)), mem)
    assert p.actions == (StartContainer("c", False, 4, sb),)
    assert p.backoff == {"crash:c": Backoff(10.0, NOW)}


@pytest.mark.parametrize("restart,code,starts", [("Always", 0, True), ("Always", 1, True), ("OnFailure", 1, True),
                                                 ("OnFailure", 0, False), ("Never", 1, False), ("Never", 0, False)])
def test_restart_policy(restart: str, code: int, starts: bool) -> None:
    sb = sandbox()
    other = running("b")
    p = plan(pod(container("c"), container("b"), restart=restart), obs(sb, exited(code=code), other))
    assert p.actions == ((StartContainer("c", False, 1, sb),) if starts else ())


def test_finished_pod_stops_its_sandbox() -> None:
    sb = sandbox()
    assert plan(pod(restart="Never"), obs(sb, exited(code=1))).actions == (StopSandbox(sb),)
    assert plan(pod(restart="OnFailure"), obs(sb, exited(code=0))).actions == (StopSandbox(sb),)
    assert plan(pod(restart="Never"), obs(sandbox(state="exited"), exited(code=0))).actions == ()


def test_terminal_phase_in_status_stops_everything_and_starts_nothing() -> None:
    sb, c = sandbox(), running()
    p = plan(pod(status={"phase": "Failed"}), obs(sb, c))
    assert p.actions == (KillContainer(c, 30, "Stopping container c"), StopSandbox(sb))


def test_rejected_pod_does_nothing() -> None:
    assert plan(pod(), obs(), Memory(rejected=Waiting("NodePorts", "x"))).actions == ()


def test_changed_spec_restarts_the_container() -> None:
    sb = sandbox()
    old_spec = container("c", image="busybox:1.0")
    c = running(spec=old_spec)
    p = plan(pod(container("c")), obs(sb, c))
    assert p.actions == (KillContainer(c, 30, "Container c definition changed, will be restarted"),)
    # Stopped for the change, it starts again even under Never (while the pod still runs).
    after = plan(pod(container("c"), container("b"), restart="Never"),
                 obs(sb, exited(spec=old_spec, code=137), running("b")))
    assert after.actions == (StartContainer("c", False, 1, sb),)


def test_only_the_previous_terminated_attempt_is_kept() -> None:
    sb = sandbox()
    p = plan(pod(), obs(sb, exited(attempt=0), exited(attempt=1), exited(attempt=2), running(attempt=3)))
    assert p.actions == (Remove("c-1"), Remove("c-0"))


def test_created_but_never_started_is_replaced() -> None:
    sb = sandbox()
    assert plan(pod(), obs(sb, created())).actions == (Remove("c-0"), StartContainer("c", False, 0, sb))


# -- start failures ------------------------------------------------------------------------------
def test_image_pull_error_then_back_off_then_retry() -> None:
    sb = sandbox()
    hint = "build it with `jetkube image build nginx`"
    mem = Memory(reasons={"c": Waiting(ERR_IMAGE_PULL, f'Failed to pull image "nginx": nope; {hint}')},
                 backoff={"start:c": Backoff(10.0, NOW)})
    early = plan(pod(container("c", image="nginx")), obs(sb), mem, now=NOW + 2)
    assert early.actions == () and early.reasons == {} and early.requeue == pytest.approx(3.0)
    later = plan(pod(container("c", image="nginx")), obs(sb), mem, now=NOW + 6)
    assert later.actions == () and later.requeue == pytest.approx(4.0)
    assert later.reasons == {"c": Waiting(IMAGE_PULL_BACKOFF, f'Back-off pulling image "nginx"; {hint}')}
    assert later.notes == (Note("Normal", "BackOff", 'Back-off pulling image "nginx"', "spec.containers{c}"),)
    retry = plan(pod(container("c", image="nginx")), obs(sb), mem, now=NOW + 10)
    assert retry.actions == (StartContainer("c", False, 0, sb),)


def test_config_error_waits_for_its_back_off() -> None:
    sb = sandbox()
    mem = Memory(reasons={"c": Waiting(CONFIG_ERROR, 'configmap "x" not found')},
                 backoff={"start:c": Backoff(20.0, NOW - 5)})
    p = plan(pod(), obs(sb), mem)
    assert p.actions == () and p.requeue == pytest.approx(15.0) and p.reasons == {}
    assert plan(pod(), obs(sb), mem, now=NOW + 15).actions == (StartContainer("c", False, 0, sb),)


def test_remember_applies_updates_and_clears() -> None:
    mem = Memory(reasons={"a": Waiting("X"), "b": Waiting("Y")})
    remember(mem, Plan(reasons={"a": None, "c": Waiting("Z")}, backoff={"crash:c": Backoff(1, 2)}))
    assert mem.reasons == {"b": Waiting("Y"), "c": Waiting("Z")} and mem.backoff == {"crash:c": Backoff(1, 2)}


# -- helpers -------------------------------------------------------------------------------------
@pytest.mark.parametrize("seconds,text", [(10, "10s"), (20, "20s"), (80, "1m20s"), (160, "2m40s"), (300, "5m0s"),
                                          (0.5, "500ms"), (3600, "1h0m0s")])
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def test_pod_done() -> None:
    spec = {"restartPolicy": "Never", "containers": [container("a"), container("b")]}
    assert not pod_done(spec, obs(exited("a"), running("b")))
    assert pod_done(spec, obs(exited("a"), exited("b", code=1)))
    assert pod_done({**spec, "initContainers": [container("i")]}, obs(exited("i", code=2, init=True)))
    assert not pod_done({**spec, "restartPolicy": "OnFailure"}, obs(exited("a"), exited("b", code=1)))
    assert not pod_done({**spec, "restartPolicy": "Always"}, obs(exited("a"), exited("b")))
