"""A jetkube cluster started exactly as users start it, for the end-to-end suites.

`Cluster.up()` runs `jetkube --home <tmp> up --detach --port <free> --nats-port <free>` (the
console script installed next to this interpreter) and `Cluster.down()` runs `jetkube down`, then
makes sure every process `up` started (read from the home's state.json) is gone, killing by pid
only what is left of our own cluster. `kubectl()` runs the real /usr/bin/kubectl against the
home's kubeconfig; `http()` talks to the API server directly with urllib.
"""

from __future__ import annotations

import contextlib

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.home import pid_alive

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "ops" / "examples"
SEED = REPO.parent / "shared" / "seed-manifests"
KUBECTL = "/usr/bin/kubectl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def jetkube_argv() -> list[str]:
    script = Path(sys.executable).parent / "jetkube"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ops.cli"]


def unique(prefix: str) -> str:
    """A name no other test uses (namespaces, objects)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Result:
    args: list[str]
    rc: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def __str__(self) -> str:
        return f"$ kubectl {' '.join(self.args)}\nexit {self.rc}\nstdout:\n{self.out}\nstderr:\n{self.err}"


class Cluster:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.api_port = free_port()
        self.nats_port = free_port()
        self.pids: set[int] = set()  # every process `up` reported, over every up of this home
        self.killed: list[int] = []

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def kubeconfig(self) -> Path:
        return self.home / "kubeconfig"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def jetkube(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*jetkube_argv(), "--home", str(self.home), *args], capture_output=True, text=True,
                              timeout=timeout, cwd=REPO, stdin=subprocess.DEVNULL)

    def up(self, *args: str, ports: bool = True) -> None:
        """`jetkube up --detach [args]` (with this cluster's ports the first time; a later `up` of
        the same home relies on the ports the home kept, as a user's second `up` does)."""
        extra = ["--port", str(self.api_port), "--nats-port", str(self.nats_port)] if ports else []
        done = self.jetkube("up", "--detach", *extra, *args)
        self._remember_pids()
        if done.returncode != 0:
            self.down()
            raise RuntimeError(f"jetkube up failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n"
                               f"{self.log_tail()}")

    def _remember_pids(self) -> None:
        try:
            state = json.loads((self.home / "state.json").read_text())
        except (OSError, ValueError):
            return
        self.pids.add(int(state["supervisor_pid"]))
        self.pids.update(int(p["pid"]) for p in state.get("processes", {}).values())

    def state(self) -> dict[str, Any]:
        return dict(json.loads((self.home / "state.json").read_text()))

    def down(self) -> subprocess.CompletedProcess[str]:
        """`jetkube down`; whatever it leaves of this cluster's processes is killed by pid and
        listed in `self.killed` (a test of `down` asserts that list is empty)."""
        self._remember_pids()
        done = self.jetkube("down", timeout=60)
        self.killed = self._reap()
        return done

    def _reap(self) -> list[int]:
        killed = []
        for pid in sorted(self.pids):
            deadline = time.monotonic() + 10
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if pid_alive(pid):  # `down` left it behind: ours, so end it
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass
        return killed

    def leftovers(self) -> list[int]:
        return [pid for pid in sorted(self.pids) if pid_alive(pid)]

    def log_tail(self, lines: int = 30) -> str:
        out = []
        for log in sorted((self.home / "logs").glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(out)

    # -- clients --------------------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        env.update(KUBECONFIG=str(self.kubeconfig), KUBECACHEDIR=str(self.home / "kubectl-cache"))
        env.update(extra)
        return env

    def kubectl_argv(self, *args: str, request_timeout: str = "30s") -> list[str]:
        return [KUBECTL, f"--request-timeout={request_timeout}", *args]

    def kubectl(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None,
                timeout: float = 60) -> Result:
        done = subprocess.run(self.kubectl_argv(*args), input=stdin, capture_output=True, text=True, timeout=timeout,
                              env=self.env(**(env or {})), cwd=REPO,
                              stdin=None if stdin is not None else subprocess.DEVNULL)
        return Result(list(args), done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Result:
        """kubectl that must succeed."""
        r = self.kubectl(*args, stdin=stdin, env=env)
        assert r.rc == 0, str(r)
        return r

    def fails(self, *args: str, stdin: str | None = None) -> Result:
        """kubectl that must fail (exit code 1)."""
        r = self.kubectl(*args, stdin=stdin)
        assert r.rc == 1, str(r)
        return r

    def get_json(self, *args: str) -> Any:
        return self.ok("get", *args, "-o", "json").json()

    def namespace(self, prefix: str = "t") -> str:
        """A fresh namespace of the test's own, created through kubectl."""
        name = unique(prefix)
        self.ok("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": name}}))
        return name

    def http(self, method: str, path: str, body: Any = None, *, timeout: float = 30,
             content_type: str = "application/json") -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")


def start_cluster(home: Path, *args: str) -> Cluster:
    cluster = Cluster(home)
    cluster.up(*args)
    return cluster


@contextlib.contextmanager
def running_cluster(home: Path, *args: str) -> Iterator[Cluster]:
    """A cluster for a whole suite; at the end `jetkube down` must succeed and leave nothing running."""
    c = start_cluster(home, *args)
    try:
        yield c
    finally:
        done = c.down()
        assert done.returncode == 0, done.stderr
        assert not c.killed, f"jetkube down left processes running: {c.killed}"
