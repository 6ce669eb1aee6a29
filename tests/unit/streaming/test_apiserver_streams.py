"""The API server's checks before a stream (Kubernetes' wording) and its channel protocols."""

from __future__ import annotations

import json
from typing import Any

import pytest
from multidict import MultiDict

from bus.nodeio import ExecOptions, LogOptions, Op
from components.apiserver import streaming as s
from core import errors


def pod(*names: str, init: tuple[str, ...] = (), statuses: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default"},
            "spec": {"nodeName": "n1", "containers": [{"name": n} for n in names],
                     "initContainers": [{"name": n} for n in init]},
            "status": {"containerStatuses": statuses or []}}


def message(exc: pytest.ExceptionInfo[errors.ApiError]) -> str:
    return exc.value.message


def test_one_container_is_chosen_without_a_name() -> None:
    assert s.pick_container(pod("app"), "") == "app"
    assert s.pick_container(pod("a", "b"), "b") == "b"
    assert s.pick_container(pod("a", init=("setup",)), "setup") == "setup"


def test_several_containers_need_a_name() -> None:
    with pytest.raises(errors.BadRequest) as e:
        s.pick_container(pod("a", "b", init=("i",)), "")
    assert message(e) == "a container name must be specified for pod web, choose one of: [i a b]"
    with pytest.raises(errors.BadRequest) as e:
        s.pick_container(pod(), "")
    assert message(e) == "a container name must be specified for pod web"


def test_unknown_container_is_a_bad_request() -> None:
    with pytest.raises(errors.BadRequest) as e:
        s.pick_container(pod("a"), "x")
    assert message(e) == "container x is not valid for pod web" and e.value.code == 400


def status(name: str, state: dict[str, Any], last: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "state": state, "lastState": last or {}}


def test_waiting_container_has_no_logs() -> None:
    p = pod("c", statuses=[status("c", {"waiting": {"reason": "ContainerCreating"}})])
    with pytest.raises(errors.BadRequest) as e:
        s.check_log_status(p, "c", False)
    assert message(e) == 'container "c" in pod "web" is waiting to start: ContainerCreating'
    p = pod("c", statuses=[status("c", {"waiting": {"reason": "ImagePullBackOff"}})])
    with pytest.raises(errors.BadRequest) as e:
        s.check_log_status(p, "c", False)
    assert message(e) == 'container "c" in pod "web" is waiting to start: trying and failing to pull image'


def test_running_or_restarted_containers_have_logs() -> None:
    s.check_log_status(pod("c", statuses=[status("c", {"running": {}})]), "c", False)
    crashed = status("c", {"waiting": {"reason": "CrashLoopBackOff"}}, {"terminated": {"containerID": "docker://x"}})
    s.check_log_status(pod("c", statuses=[crashed]), "c", False)  # the last instance's logs
    s.check_log_status(pod("c", statuses=[crashed]), "c", True)
    s.check_log_status(pod("c"), "c", False)  # no status yet: the kubelet decides


def test_previous_needs_a_terminated_instance() -> None:
    with pytest.raises(errors.BadRequest) as e:
        s.check_log_status(pod("c", statuses=[status("c", {"running": {}})]), "c", True)
    assert message(e) == 'previous terminated container "c" in pod "web" not found'


def test_log_options_from_the_query() -> None:
    q = {"follow": "true", "tailLines": "10", "timestamps": "1", "previous": "false", "limitBytes": "5"}
    assert s.log_options(q, "web") == LogOptions(follow=True, timestamps=True, tail_lines=10, limit_bytes=5)
    assert s.log_options({}, "web") == LogOptions()


def test_log_options_are_validated_as_kubernetes_does() -> None:
    with pytest.raises(errors.Invalid) as e:
        s.log_options({"tailLines": "-1"}, "web")
    assert e.value.code == 422
    assert message(e) == 'PodLogOptions "web" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0'
    with pytest.raises(errors.Invalid) as e:
        s.log_options({"sinceSeconds": "5", "sinceTime": "2024-01-01T00:00:00Z"}, "web")
    assert "at most one of `sinceTime` or `sinceSeconds` may be specified" in message(e)
    with pytest.raises(errors.BadRequest) as e:
        s.log_options({"tailLines": "ten"}, "web")
    assert message(e) == 'strconv.ParseInt: parsing "ten": invalid syntax'


def test_query_booleans() -> None:
    assert [s.query_bool({"x": v}, "x") for v in ("true", "1", "True", "yes", "")] == [True] * 5
    assert [s.query_bool({"x": v}, "x") for v in ("false", "0", "F", "FALSE")] == [False] * 4
    assert s.query_bool({}, "x") is False


def test_exec_options() -> None:
    q = MultiDict([("command", "sh"), ("command", "-c"), ("command", "echo hi"), ("stdout", "true"),
                   ("stderr", "true")])
    assert s.exec_options(q, Op.EXEC) == ExecOptions(command=("sh", "-c", "echo hi"), stdout=True, stderr=True)
    tty = MultiDict([("command", "sh"), ("stdin", "true"), ("stdout", "true"), ("stderr", "true"), ("tty", "true")])
    assert s.exec_options(tty, Op.EXEC) == ExecOptions(command=("sh",), stdin=True, stdout=True, stderr=False, tty=True)
    with pytest.raises(errors.BadRequest) as e:
        s.exec_options(MultiDict([("command", "ls")]), Op.EXEC)
    assert message(e) == "you must specify at least 1 of stdin, stdout, stderr"
    with pytest.raises(errors.BadRequest):
        s.exec_options(MultiDict([("stdout", "true")]), Op.EXEC)
    assert s.exec_options(MultiDict([("stdout", "1")]), Op.ATTACH).command == ()


def test_binary_channel_messages() -> None:
    v5 = s.CHANNEL_PROTOCOLS["v5.channel.k8s.io"]
    assert s.encode_message(v5, 1, b"hi") == b"\x01hi"
    assert s.decode_message(v5, b"\x00input") == (0, b"input")
    assert s.decode_message(v5, "\x00typed") == (0, b"typed")  # the Python client sends str as text
    assert s.decode_message(v5, bytes([255, 0])) == (255, b"\x00")
    assert s.decode_message(v5, b"") is None


def test_base64_channel_messages() -> None:
    b64 = s.CHANNEL_PROTOCOLS["v4.base64.channel.k8s.io"]
    assert s.encode_message(b64, 2, b"oops") == "2b29wcw=="
    assert s.decode_message(b64, "0aGk=") == (0, b"hi")
    with pytest.raises(errors.BadRequest):
        s.decode_message(b64, "0%%%")


def test_status_on_channel_three() -> None:
    failure = {"metadata": {}, "status": "Failure", "message": "boom", "reason": "InternalError"}
    v4 = s.CHANNEL_PROTOCOLS["v4.channel.k8s.io"]
    assert json.loads(s.status_message(v4, failure) or b"") == failure
    assert s.status_message(v4, {"metadata": {}, "status": "Success"}) == b'{"metadata":{},"status":"Success"}'
    assert s.status_message(s.LEGACY, failure) == b"boom"
    assert s.status_message(s.LEGACY, {"metadata": {}, "status": "Success"}) is None


def test_resize_messages() -> None:
    assert s.resize_events(b'{"Width":100,"Height":30}\n') == [(100, 30)]
    assert s.resize_events(b'{"Width":1,"Height":2}{"Width":3,"Height":4}') == [(1, 2), (3, 4)]
    assert s.resize_events(b"garbage") == []
