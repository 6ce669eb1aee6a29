"""Images, admission, pod IPs, node and lease objects, stream resolution, container configs, back-off."""

from __future__ import annotations

import pytest

from components.kubelet import images
from components.kubelet.admission import admit, pod_requests
from components.kubelet.backoff import Backoff, BackoffPolicy
from components.kubelet.containerspec import cgroup_settings, container_config, port_bindings, sandbox_config
from components.kubelet.ipam import PodIPs, RangeFull, node_subnets, subnet_at
from components.kubelet.nodestatus import (NodeFacts, arch, lease_object, micro_time, node_object, node_status,
                                           registration_patch, status_due)
from components.kubelet.resolve import pick_container, pick_instance
from components.kubelet.runtime import ImageInfo, Mount, PortBinding
from core.errors import BadRequest
from core.podstatus import CRASH_LOOP, Waiting, timestamp
from tests.unit.kubelet.helpers import NOW, container, created, exited, obs, pod, running, sandbox


# -- images --------------------------------------------------------------------------------------
@pytest.mark.parametrize("image,repo,recipe", [
    ("nginx", "nginx", "nginx"), ("nginx:1.22", "nginx", "nginx"), ("docker.io/library/nginx:latest", "nginx", "nginx"),
    ("busybox@sha256:" + "a" * 64, "busybox", "busybox"), ("jetkube/pause:1.0", "jetkube/pause", "pause"),
    ("localhost:5000/team/app:v1", "localhost:5000/team/app", None), ("redis", "redis", None),
])
def test_repository_and_recipe(image: str, repo: str, recipe: str | None) -> None:
    assert images.repository(image) == repo and images.recipe(image) == recipe


def test_pull_policy() -> None:
    assert images.policy_of({"image": "nginx"}) == "Always"
    assert images.policy_of({"image": "nginx:1.22"}) == "IfNotPresent"
    assert images.policy_of({"image": "nginx:1.22", "imagePullPolicy": "Never"}) == "Never"
    assert [images.pull_wanted(p, present) for p in ("Always", "IfNotPresent", "Never") for present in (True, False)] \
        == [True, True, False, True, False, False]


def test_image_messages() -> None:
    assert images.registry_ref("nginx", "http://localhost:5000/") == "localhost:5000/nginx:latest"
    assert images.registry_ref("team/app:v1", "reg:5000") == "reg:5000/team/app:v1"
    assert images.unpullable_message("nginx", ()) == ('Container image "nginx" already present on machine and can '
                                                      "not be pulled (no registry configured)")
    msg = images.pull_failed_message("nginx:1.99", (), [])
    assert msg == ('Failed to pull image "nginx:1.99": not present locally and no registry is reachable (jetkube '
                   "pulls only from --registry); build it with `jetkube image build nginx`")
    assert "docker build" in images.pull_failed_message("redis", ("r:5000",), ["r:5000: connection refused"])
    assert "pull policy of Never" in images.never_pull_message("busybox:9")
    assert ImageInfo("sha256:1").image_id == "sha256:1"
    assert ImageInfo("sha256:1", ("nginx@sha256:2",)).image_id == "docker-pullable://nginx@sha256:2"


# -- admission -----------------------------------------------------------------------------------
def _ported(name: str, port: int, proto: str = "TCP", ip: str = "") -> dict:
    p = pod(container("c", ports=[{"containerPort": 80, "hostPort": port, "protocol": proto, "hostIP": ip}]))
    p["metadata"]["name"] = name
    return p


def test_host_port_clashes() -> None:
    a = _ported("a", 8080)
    v = admit(_ported("b", 8080), [a], {"pods": "110"})
    assert v is not None and v.reason == "NodePorts"
    assert v.message == ("Pod was rejected: Predicate NodePorts failed: node(s) didn't have free ports for the "
                         "requested pod ports (host port 0.0.0.0:8080/TCP is held by pod ns/a)")
    assert admit(_ported("b", 8080, "UDP"), [a], {}) is None
    assert admit(_ported("b", 8081), [a], {}) is None
    assert admit(_ported("b", 8080, ip="127.0.0.1"), [_ported("a", 8080, ip="127.0.0.2")], {}) is None
    assert admit(_ported("b", 8080, ip="127.0.0.1"), [a], {}) is not None


def test_resources_and_pod_count() -> None:
    big = pod(container("c", resources={"requests": {"cpu": "1500m", "memory": "1Gi"}}))
    assert admit(big, [], {"cpu": "2", "memory": "4Gi", "pods": "110"}) is None
    v = admit(big, [big], {"cpu": "2", "memory": "4Gi", "pods": "110"})
    assert v == Waiting("OutOfcpu", "Pod was rejected: Node didn't have enough resource: cpu, requested: 1500, "
                                    "used: 1500, capacity: 2000")
    v = admit(pod(), [pod(), pod()], {"pods": "2"})
    assert v is not None and v.reason == "OutOfpods"
    inits = pod(container("c", resources={"requests": {"cpu": "100m"}}),
                init=[container("i", resources={"requests": {"cpu": "1"}})])
    assert pod_requests(inits)["cpu"] == 1


# -- IPs -----------------------------------------------------------------------------------------
def test_pod_ips_skip_reserved_addresses_and_go_round() -> None:
    ips = PodIPs("10.1.2.0/29")  # .0 network, .1 gateway, .7 broadcast: .2-.6 usable
    assert ips.capacity == 5
    got = [ips.allocate(f"u{i}") for i in range(5)]
    assert got == ["10.1.2.2", "10.1.2.3", "10.1.2.4", "10.1.2.5", "10.1.2.6"]
    assert ips.allocate("u0") == "10.1.2.2"  # the same pod keeps its address
    with pytest.raises(RangeFull):
        ips.allocate("u9")
    ips.release("u1")
    assert ips.allocate("u9") == "10.1.2.3"


def test_pod_ips_do_not_reuse_a_released_address_at_once() -> None:
    ips = PodIPs("10.1.2.0/24")
    a = ips.allocate("a")
    ips.release("a")
    assert ips.allocate("b") != a


def test_pod_ips_restore_after_restart() -> None:
    ips = PodIPs("10.1.2.0/24")
    assert ips.restore("a", "10.1.2.7")
    assert not ips.restore("b", "10.1.2.7")  # taken
    assert not ips.restore("c", "10.9.9.9")  # outside the range
    assert not ips.restore("d", "10.1.2.1")  # the gateway
    assert ips.allocate("e") == "10.1.2.8"


def test_node_subnets() -> None:
    assert node_subnets("10.244.0.0/16", 3) == ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"]
    many = node_subnets("10.244.0.0/16", 1000)
    assert len(many) == 1000 and many[1] == "10.244.0.64/26" and len(set(many)) == 1000
    assert subnet_at("10.244.0.0/16", 5) == "10.244.5.0/24"
    with pytest.raises(ValueError):
        subnet_at("10.244.0.0/24", 1)


# -- node and lease ------------------------------------------------------------------------------
FACTS = NodeFacts(name="n1", ip="10.244.0.1", pod_cidr="10.244.3.0/24",
                  capacity={"cpu": "2", "memory": "4Gi", "ephemeral-storage": "10Gi", "pods": "110"},
                  runtime_version="docker://20.10.24", architecture=arch("x86_64"), os_image="Debian",
                  kernel_version="6.1")


def test_node_object() -> None:
    n = node_object(FACTS)
    assert n["metadata"]["labels"] == {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                                       "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": "n1",
                                       "kubernetes.io/os": "linux"}
    assert n["spec"] == {"podCIDR": "10.244.3.0/24", "podCIDRs": ["10.244.3.0/24"]}
    assert arch("aarch64") == "arm64"


def test_registration_never_rewrites_someone_elses_spec() -> None:
    existing = {"metadata": {"labels": {"kubernetes.io/hostname": "n1", "team": "x"}},
                "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}], "podCIDR": "10.244.9.0/24"}}
    patch = registration_patch(FACTS, existing)
    assert "spec" not in patch and "kubernetes.io/os" in patch["metadata"]["labels"]
    assert "team" not in patch["metadata"]["labels"]
    bare = registration_patch(FACTS, {"metadata": {"labels": FACTS.labels}, "spec": {}})
    assert bare == {"spec": {"podCIDR": "10.244.3.0/24", "podCIDRs": ["10.244.3.0/24"]}}


def test_node_status_reasserts_ready_and_keeps_others() -> None:
    since = "2027-01-01T00:00:00Z"
    old = {"conditions": [
        {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown", "lastTransitionTime": since},
        {"type": "MemoryPressure", "status": "False", "lastTransitionTime": since},
        {"type": "NetworkUnavailable", "status": "False", "lastTransitionTime": since}]}
    st = node_status(FACTS, old, NOW)
    by = {c["type"]: c for c in st["conditions"]}
    assert [c["type"] for c in st["conditions"]] == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready",
                                                      "NetworkUnavailable"]
    assert by["Ready"] == {"type": "Ready", "status": "True", "lastHeartbeatTime": timestamp(NOW),
                           "lastTransitionTime": timestamp(NOW), "reason": "KubeletReady",
                           "message": "kubelet is posting ready status"}
    assert by["MemoryPressure"]["lastTransitionTime"] == since
    assert st["nodeInfo"]["kubeletVersion"] == "v1.32.0-jetkube"
    assert st["nodeInfo"]["containerRuntimeVersion"] == "docker://20.10.24"
    assert st["allocatable"] == st["capacity"]
    assert st["addresses"] == [{"type": "InternalIP", "address": "10.244.0.1"}, {"type": "Hostname", "address": "n1"}]
    assert status_due(old, st, NOW, 300)
    assert not status_due(st, node_status(FACTS, st, NOW + 10), NOW + 10, 300)
    assert status_due(st, node_status(FACTS, st, NOW + 301), NOW + 301, 300)


def test_lease() -> None:
    assert micro_time(1767225600.0) == "2026-01-01T00:00:00.000000Z"
    lease = lease_object("n1", "uid-1", 1767225600.5)
    assert lease["metadata"] == {"name": "n1", "namespace": "kube-node-lease", "ownerReferences": [
        {"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "uid-1"}]}
    assert lease["spec"] == {"holderIdentity": "n1", "leaseDurationSeconds": 40,
                             "renewTime": "2026-01-01T00:00:00.500000Z"}


# -- stream targets ------------------------------------------------------------------------------
def test_pick_container() -> None:
    p = pod(container("a"), container("b"), init=[container("i")])
    assert pick_container(p, "b") == (container("b"), False)
    assert pick_container(p, "i") == (container("i"), True)
    with pytest.raises(BadRequest, match='container "x" is not valid for pod "p"'):
        pick_container(p, "x")
    with pytest.raises(BadRequest, match=r"choose one of: \[a b\]"):
        pick_container(p, "")
    assert pick_container(pod(container("only")), "")[0]["name"] == "only"


def test_pick_instance() -> None:
    p = pod()
    o = obs(sandbox(), exited(attempt=0, code=1), running(attempt=1))
    assert pick_instance(p, o, "c", False, False, {}).id == "c-1"
    assert pick_instance(p, o, "c", False, True, {}).id == "c-0"
    looping = obs(exited(attempt=0, code=1), exited(attempt=1, code=1))
    assert pick_instance(p, looping, "c", False, True, {"c": Waiting(CRASH_LOOP)}).id == "c-1"
    with pytest.raises(BadRequest, match='previous terminated container "c" in pod "p" not found'):
        pick_instance(p, obs(running()), "c", False, True, {})
    with pytest.raises(BadRequest, match='container "c" in pod "p" is waiting to start: ContainerCreating'):
        pick_instance(p, obs(created()), "c", False, False, {})


# -- container configs ---------------------------------------------------------------------------
def test_cgroups_from_resources() -> None:
    assert cgroup_settings(container("c")) == (None, None, 2)
    c = container("c", resources={"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "250m"}})
    assert cgroup_settings(c) == (500_000_000, 128 * 1024 * 1024, 256)


def test_sandbox_and_container_config() -> None:
    c = container("web", command=["httpd", "-p", "$(PORT)"], ports=[{"containerPort": 80, "hostPort": 8080}],
                  tty=True, stdin=True, workingDir="/srv")
    p = pod(c, hostname="custom")
    assert port_bindings(p) == (PortBinding(80, "TCP", 8080, ""),)
    sb_cfg = sandbox_config(p, 2, "10.0.0.9")
    assert (sb_cfg.hostname, sb_cfg.attempt, sb_cfg.ip, sb_cfg.grace) == ("custom", 2, "10.0.0.9", 30)
    cfg = container_config(p, c, init=False, attempt=1, sandbox=sandbox(), env=[("PORT", "8080")],
                           mounts=[Mount("/h", "/c", True)])
    assert cfg.command == ("httpd", "-p", "8080") and cfg.args is None
    assert cfg.tty and cfg.stdin and cfg.working_dir == "/srv" and cfg.sandbox_id == "sb0"
    assert cfg.env == (("PORT", "8080"),) and cfg.mounts == (Mount("/h", "/c", True),)


# -- back-off ------------------------------------------------------------------------------------
def test_backoff_with_a_fake_clock() -> None:
    policy = BackoffPolicy(base=10, cap=300)
    entry = None
    delays = []
    t = 0.0
    for _ in range(7):
        entry = policy.next(entry, t)
        delays.append(entry.delay)
        t += 1
    assert delays == [10, 20, 40, 80, 160, 300, 300]
    assert policy.waiting(Backoff(20, 100), since=105, now=110) == 15
    assert policy.waiting(Backoff(20, 100), since=105, now=130) == 0
    assert policy.waiting(Backoff(300, 0), since=601, now=602) == 0  # ran over ten minutes: expired
    assert policy.next(Backoff(300, 0), 700) == Backoff(10, 700)
    assert policy.waiting(None, since=0, now=0) == 0
