"""`python -m components.kubelet`: run the node agent (one docker node, or many simulated ones)."""

from __future__ import annotations

import argparse
import sys

from components.kubelet.config import KubeletConfig
from components.kubelet.docker_runtime import DockerUnavailable
from components.kubelet.service import ConfigurationError, Kubelet
from components.runtime import add_bus_arguments, configure_logging, run, run_guarded
from core.schema.quantity import QuantityError, parse_quantity


def parse_args(argv: list[str] | None = None) -> KubeletConfig:
    p = argparse.ArgumentParser(prog="jetkube-kubelet")
    add_bus_arguments(p)
    p.add_argument("--node-name", action="append", default=[],
                   help="the node's name (sim: the base of <name>-<i> with --nodes, or repeat it for explicit names)")
    p.add_argument("--runtime", choices=("docker", "sim"), default="docker")
    p.add_argument("--nodes", type=int, default=None, help="sim: how many nodes this process simulates")
    p.add_argument("--pod-cidr", default="", help="docker: this node's pod range (default: a free /24)")
    p.add_argument("--cluster-cidr", default="10.244.0.0/16", help="the pod network (the docker network's subnet)")
    p.add_argument("--network", default="", help="docker network for pods (default jetkube-<prefix>)")
    p.add_argument("--root-dir", default="/var/lib/jetkube/kubelet", help="where pod volumes live")
    p.add_argument("--cpu", default=None, help="cpu capacity to report (default: the host's)")
    p.add_argument("--memory", default=None, help="memory capacity to report, a quantity (default: the host's)")
    p.add_argument("--max-pods", type=int, default=110)
    p.add_argument("--sim-start-delay", type=float, default=1.0, help="sim: seconds until a pod runs")
    p.add_argument("--sim-stop-delay", type=float, default=0.2, help="sim: seconds a container takes to stop")
    p.add_argument("--registry", action="append", default=[],
                   help="a registry images may be pulled from (repeatable; default: none, local images only)")
    p.add_argument("--node-ip", default="", help="the node's InternalIP (docker default: the pod network's gateway)")
    p.add_argument("--backoff-base", type=float, default=10.0, help="first restart back-off in seconds")
    a = p.parse_args(argv)
    if a.nodes is not None and a.nodes < 1:
        p.error("--nodes must be at least 1")
    if a.runtime == "docker" and (a.nodes is not None or len(a.node_name) > 1):
        p.error("a docker kubelet runs one node: --nodes and several --node-name need --runtime sim")
    for flag, value in (("--cpu", a.cpu), ("--memory", a.memory)):
        if value is not None:
            try:
                parse_quantity(value)
            except QuantityError as e:
                p.error(f"{flag} {value!r}: {e}")
    if a.sim_start_delay < 0:
        p.error("--sim-start-delay must be 0 or more")
    names = list(a.node_name)
    return KubeletConfig(
        nats_url=a.nats, prefix=a.prefix, node_name=names[0] if len(names) == 1 else "",
        node_names=tuple(names) if len(names) > 1 else (), runtime=a.runtime, nodes=a.nodes, pod_cidr=a.pod_cidr,
        cluster_cidr=a.cluster_cidr, network=a.network, root_dir=a.root_dir, cpu=a.cpu, memory=a.memory,
        max_pods=a.max_pods, sim_start_delay=a.sim_start_delay, sim_stop_delay=a.sim_stop_delay,
        registries=tuple(a.registry), node_ip=a.node_ip, backoff_base=a.backoff_base)


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    configure_logging("kubelet")
    kubelet = Kubelet(config)

    async def go() -> int:
        try:
            return await run_guarded(kubelet)
        except (DockerUnavailable, ConfigurationError) as e:
            print(f"jetkube-kubelet: {e}", file=sys.stderr)
            await kubelet.stop()
            return 1

    return run(go())


if __name__ == "__main__":
    sys.exit(main())
