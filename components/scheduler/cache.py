"""The scheduler's view of the cluster: every node with the pods on it, bound or assumed.

Fed from the log (nodes, and pods that have a node) and from the scheduler's own decisions: a
pod is *assumed* onto its node the moment its binding is sent, so the next decision already
sees the node's resources as taken; when the log shows the pod bound, the assumption is
*confirmed* (wherever it landed — another scheduler may have won the race); if the binding
fails, the pod is *forgotten* and the node's resources come back. Nodes keep the order in which
they appeared, which the decision's rotating start index walks. A pod may name a node the
scheduler has not seen (yet, or any more): that node is tracked for its pods but offered to no
pod until its Node object exists. Pure.
"""

from __future__ import annotations

from typing import Any

from components.scheduler.nodeinfo import NodeInfo
from components.scheduler.podinfo import PodInfo, PodKey


class ClusterCache:
    def __init__(self) -> None:
        self.infos: dict[str, NodeInfo] = {}  # every node named by a Node object or by a pod
        self.nodes: list[NodeInfo] = []  # the nodes that exist: the candidates, in arrival order
        self._where: dict[PodKey, str] = {}  # pod -> node, bound or assumed
        self._assumed: dict[PodKey, str] = {}  # pods assumed by this scheduler, not yet seen bound

    # -- nodes ----------------------------------------------------------------------------------
    def set_node(self, node: dict[str, Any]) -> bool:
        """A node added or changed. True if pods that did not fit before might fit now."""
        name = str((node.get("metadata") or {}).get("name") or "")
        info = self.infos.get(name)
        if info is None:
            info = self.infos[name] = NodeInfo(name)
        added = info.node is None
        changed = info.set_node(node)
        if added:
            self.nodes.append(info)
        return added or changed

    def remove_node(self, name: str) -> None:
        info = self.infos.get(name)
        if info is None or info.node is None:
            return
        info.clear_node()
        self.nodes.remove(info)
        if not info.pods:
            del self.infos[name]

    def node(self, name: str) -> NodeInfo | None:
        return self.infos.get(name)

    # -- pods -----------------------------------------------------------------------------------
    def add_pod(self, pod: PodInfo, node: str | None = None) -> None:
        """A pod the log shows bound to `node` (default `pod.node_name`): new, changed, or
        confirming an assumption (whose PodInfo, parsed before binding, may be passed again)."""
        self._assumed.pop(pod.key, None)
        self._place(pod, node or pod.node_name)

    def remove_pod(self, key: PodKey) -> bool:
        """The pod is gone (deleted, or finished). True if it held resources somewhere."""
        self._assumed.pop(key, None)
        return self._unplace(key)

    def assume(self, pod: PodInfo, node: str) -> bool:
        """Count the pod on `node` before the log says so. False (and nothing done) if the log
        already shows it bound: there is nothing left to decide for it."""
        if pod.key in self._where and pod.key not in self._assumed:
            return False
        self._assumed[pod.key] = node
        self._place(pod, node)
        return True

    def forget(self, key: PodKey) -> bool:
        """Undo an assumption whose binding failed; a no-op if the log already showed the pod bound."""
        if self._assumed.pop(key, None) is None:
            return False
        self._unplace(key)
        return True

    def is_assumed(self, key: PodKey) -> bool:
        return key in self._assumed

    def assumed_pod(self, key: PodKey) -> PodInfo | None:
        node = self._assumed.get(key)
        return None if node is None else self.infos[node].pods.get(key)

    def pod(self, key: PodKey) -> PodInfo | None:
        """The pod as accounted for (bound or assumed), if it is on a node."""
        node = self._where.get(key)
        return None if node is None else self.infos[node].pods.get(key)

    def node_of(self, key: PodKey) -> str | None:
        return self._where.get(key)

    @property
    def assumed_count(self) -> int:
        return len(self._assumed)

    @property
    def pod_count(self) -> int:
        return len(self._where)

    def _place(self, pod: PodInfo, node: str) -> None:
        current = self._where.get(pod.key)
        if current is not None and current != node:
            self._unplace(pod.key)
        info = self.infos.get(node)
        if info is None:
            info = self.infos[node] = NodeInfo(node)
        info.add_pod(pod)
        self._where[pod.key] = node

    def _unplace(self, key: PodKey) -> bool:
        node = self._where.pop(key, None)
        if node is None:
            return False
        info = self.infos[node]
        info.remove_pod(key)
        if info.node is None and not info.pods:
            del self.infos[node]
        return True
