"""The kubelet's pure helpers: docker's multiplexed stream, log options as docker's query."""

from __future__ import annotations

import struct

from bus.nodeio import LogOptions
from components.kubelet.streaming import Demuxer, docker_log_params, go_list


def frame(kind: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxI", kind, len(payload)) + payload


def test_demux_whole_frames() -> None:
    d = Demuxer()
    assert d.feed(frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b"more\n")) == [
        (1, b"out\n"), (2, b"err\n"), (1, b"more\n")]


def test_demux_any_split_gives_the_same_bytes_per_channel() -> None:
    stream = frame(1, b"a" * 10) + frame(2, b"") + frame(2, b"bb") + frame(0, b"echo") + frame(1, b"c" * 300)
    for cut in range(1, 40):
        d = Demuxer()
        got: dict[int, bytes] = {1: b"", 2: b""}
        for i in range(0, len(stream), cut):
            for ch, data in d.feed(stream[i:i + cut]):
                got[ch] += data
        assert got == {1: b"a" * 10 + b"echo" + b"c" * 300, 2: b"bb"}, cut


def test_demux_hands_out_partial_payloads() -> None:
    d = Demuxer()
    whole = frame(1, b"x" * 100)
    assert d.feed(whole[:58]) == [(1, b"x" * 50)]
    assert d.feed(whole[58:]) == [(1, b"x" * 50)]


def test_log_params() -> None:
    assert docker_log_params(LogOptions(), now=1000.0) == {
        "stdout": "1", "stderr": "1", "follow": "0", "timestamps": "0", "tail": "all"}
    p = docker_log_params(LogOptions(follow=True, timestamps=True, tail_lines=0, since_seconds=10), now=1000.0)
    assert p["follow"] == "1" and p["timestamps"] == "1" and p["tail"] == "0" and p["since"] == "990.000000000"
    p = docker_log_params(LogOptions(since_time="1970-01-01T00:01:40Z"), now=0)
    assert p["since"] == "100.000000000"


def test_go_list() -> None:
    assert go_list(("sh", "-c", "exit 3")) == "[sh -c exit 3]"
