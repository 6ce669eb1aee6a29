"""The bus wire protocol between API server and kubelet: frames, credit, requests, statuses."""

from __future__ import annotations

import pytest

from bus import nodeio
from bus.nodeio import Acker, Credit, Frame, Kind, Op, ProtocolError
from core import errors


def test_frame_round_trip() -> None:
    data = nodeio.encode(Kind.STDOUT, 7, b"hello")
    assert data[:1] == b"\x01" and len(data) == nodeio.HEADER.size + 5
    assert nodeio.decode(data) == Frame(Kind.STDOUT, 7, b"hello")
    assert nodeio.decode(nodeio.encode(Kind.PING, 0)) == Frame(Kind.PING, 0, b"")


def test_sequence_wraps_at_32_bits() -> None:
    assert nodeio.decode(nodeio.encode(Kind.ACK, 2**32 + 3)).seq == 3


def test_short_frame_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        nodeio.decode(b"\x01\x00\x00")


def test_chunks_cut_payloads() -> None:
    assert list(nodeio.chunks(b"abcdefg", 3)) == [b"abc", b"def", b"g"]
    assert list(nodeio.chunks(b"", 3)) == []
    assert list(nodeio.chunks(b"abc", 3)) == [b"abc"]


def test_ack_and_resize_payloads() -> None:
    assert nodeio.decode_ack(nodeio.encode_ack(5 << 33)) == 5 << 33
    with pytest.raises(ProtocolError):
        nodeio.decode_ack(b"\x00")
    assert nodeio.decode_resize(nodeio.encode_resize(100, 30)) == (100, 30)
    with pytest.raises(ProtocolError):
        nodeio.decode_resize(b'{"Width": 1}')


def test_credit_limits_bytes_in_flight() -> None:
    c = Credit(10)
    assert c.available() == 10
    c.take(8)
    assert c.available() == 2
    c.ack(4)
    assert c.available() == 6
    c.ack(3)  # late, older ack: no change
    assert c.available() == 6
    with pytest.raises(ProtocolError):
        c.ack(9)  # more than was ever sent


def test_acker_acknowledges_each_quarter_window() -> None:
    a = Acker(100)
    assert a.consume(10) is None
    assert a.consume(14) is None
    assert a.consume(1) == 25
    assert a.consume(24) is None
    assert a.consume(1) == 50


def test_sender_blocked_on_a_full_window_is_always_released() -> None:
    """Whatever the frame sizes, once the receiver has consumed everything sent, the sender has
    room again: no deadlock between credit and the ack threshold."""
    for window in (1, 3, 16, 1000):
        for size in (1, 2, 7, 64):
            credit, acker = Credit(window), Acker(window)
            in_flight: list[int] = []
            sent = 0
            while sent < 5000:
                room = credit.available()
                if room > 0:
                    n = min(room, size)
                    credit.take(n)
                    in_flight.append(n)
                    sent += n
                    continue
                assert in_flight, "blocked with nothing left to consume"
                while in_flight:  # the receiver drains what it has
                    ack = acker.consume(in_flight.pop(0))
                    if ack is not None:
                        credit.ack(ack)
                assert credit.available() > 0, (window, size)


def test_stream_request_round_trip() -> None:
    req = nodeio.StreamRequest(Op.EXEC, "node.a", "ns", "p", "c",
                               exec=nodeio.ExecOptions(command=("sh", "-c", "exit 3"), stdin=True, tty=True))
    assert nodeio.StreamRequest.from_dict(req.to_dict()) == req
    log = nodeio.StreamRequest(Op.LOG, "n", "ns", "p", "c", log=nodeio.LogOptions(follow=True, tail_lines=3))
    assert nodeio.StreamRequest.from_dict(log.to_dict()) == log
    with pytest.raises(ProtocolError):
        nodeio.StreamRequest.from_dict({"op": "teleport", "node": "n", "namespace": "", "pod": "", "container": ""})


def test_subjects_escape_dots_in_node_names() -> None:
    assert nodeio.open_subject("jk", "node-1.example.com", Op.LOG) == "jk.node.node-1~example~com.stream.log"
    assert nodeio.node_subjects("jk", "n1") == "jk.node.n1.stream.*"
    assert nodeio.session_subjects("jk", "abc") == ("jk.nodeio.abc.c", "jk.nodeio.abc.k")


def test_statuses_as_remotecommand_writes_them() -> None:
    assert nodeio.success_status() == {"metadata": {}, "status": "Success"}
    assert nodeio.exit_code_status(3, "error executing command [sh -c exit 3], exit code 3") == {
        "metadata": {}, "status": "Failure",
        "message": "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",
        "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}
    status = nodeio.error_status(errors.BadRequest("nope"))
    assert status == {"metadata": {}, "status": "Failure", "message": "nope", "reason": "BadRequest", "code": 400}


def test_node_error_keeps_the_kubelets_status() -> None:
    err = nodeio.NodeError({"metadata": {}, "status": "Failure", "message": 'pods "x" not found',
                            "reason": "NotFound", "code": 404})
    assert err.code == 404 and err.reason == "NotFound"
    assert err.to_status() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": 'pods "x" not found', "reason": "NotFound", "code": 404}
