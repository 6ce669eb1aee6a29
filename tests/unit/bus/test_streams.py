"""Stream specs, the server version floor, and refusing a server that drops a setting."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from nats.js import api as jsapi
from nats.js.errors import NotFoundError

from bus.server import NatsServer
from bus.streams import ProvisioningError, check_server_version, provision, specs
from bus.subjects import SubjectSpace
from core.keys import KeyFilter, ObjectKey
from core.kinds import Stream


def test_specs_name_streams_per_cluster_with_their_retention() -> None:
    s = specs("dev-1", events_ttl=60)
    assert s[Stream.OBJECTS].name == "DEV_1_KUBE_OBJECTS" and s[Stream.OBJECTS].max_msgs_per_subject == -1
    assert s[Stream.LEASES].max_msgs_per_subject == 1 and s[Stream.LEASES].server_coalesces
    assert s[Stream.EVENTS].max_age == 60 and s[Stream.EVENTS].config().max_age == 60
    assert s[Stream.OBJECTS].config().subjects == ["dev-1.obj.>"]


@pytest.mark.parametrize("version", [(2, 9, 25), (2, 11, 9), (1, 99, 0)])
def test_old_servers_are_refused(version: tuple[int, int, int]) -> None:
    with pytest.raises(ProvisioningError, match="too old"):
        check_server_version(version)


def test_current_servers_pass() -> None:
    check_server_version((2, 12, 0))
    check_server_version((2, 15, 1))


def test_subjects_round_trip_dots_and_cluster_scope() -> None:
    space = SubjectSpace("jk", "obj")
    key = ObjectKey("coordination.k8s.io", "leases", "kube-node-lease", "node-1.example.com")
    subject = space.subject(key)
    assert subject == "jk.obj.coordination~k8s~io.leases.kube-node-lease.node-1~example~com"
    assert space.key(subject) == key
    node = ObjectKey("", "nodes", "", "n1")
    assert space.subject(node) == "jk.obj.core.nodes._.n1" and space.key(space.subject(node)) == node
    assert space.filter(KeyFilter("", "pods", "default")) == "jk.obj.core.pods.default.*"
    assert space.filter(KeyFilter()) == "jk.obj.>"


class FakeJetStream:
    """Answers like a server that silently drops `max_age` (as nats-server 2.9 drops newer settings)."""

    async def stream_info(self, name: str) -> Any:
        raise NotFoundError

    async def add_stream(self, config: jsapi.StreamConfig) -> Any:
        kept = dataclasses.replace(config, max_age=None)
        return jsapi.StreamInfo(config=kept, state=None)  # type: ignore[arg-type]


async def test_provisioning_refuses_a_server_that_dropped_a_setting() -> None:
    with pytest.raises(ProvisioningError, match="max_age"):
        await provision(FakeJetStream(), specs("x")[Stream.EVENTS])  # type: ignore[arg-type]


def test_nats_server_config_is_loopback_and_durability_is_explicit(tmp_path: Any) -> None:
    fast = NatsServer(store_dir=tmp_path, port=4999, binary="/bin/true")
    assert "host: 127.0.0.1" in fast.config_text() and "sync_interval" not in fast.config_text()
    durable = NatsServer(store_dir=tmp_path, port=4999, binary="/bin/true", sync_always=True)
    assert "sync_interval: always" in durable.config_text()
