"""Capture the protobuf request bodies the real kubectl sends, as golden files for the decoder tests.

Not a test: run it by hand when kubectl changes or a case is added:

    .venv/bin/python -m tests.unit.protobuf.capture [--kubectl /usr/bin/kubectl] [--only NAME ...]

It starts a real jetkube (`jetkube up --detach` in a temporary JETKUBE_HOME, on a free port), puts a
small aiohttp proxy in front of it on another free port of 127.0.0.1, points a temporary kubeconfig
at the proxy and runs each case's kubectl command through it. The proxy forwards everything
(discovery, OpenAPI, …) and keeps every request body sent as `application/vnd.kubernetes.protobuf`.
For each case it writes:

- golden/<name>.pb          the body kubectl sent (the `k8s\\x00` envelope and all)
- golden/<name>.request     the method and path it was sent to
- golden/<name>.dryrun.json `kubectl … --dry-run=client -o json` for the same command, to cross-check

The expected dicts in test_golden.py are written by hand; the dry-run JSON is only a cross-check.
Everything it starts (jetkube, the proxy) is stopped and its temporary home removed, also on error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aiohttp import ClientSession, ClientTimeout, web

GOLDEN = Path(__file__).resolve().parent / "golden"
ROOT = Path(__file__).resolve().parents[3]
PROTOBUF = "application/vnd.kubernetes.protobuf"


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]  # kubectl arguments after `kubectl`
    dry_run: bool = True   # whether `--dry-run=client -o json` makes sense for this command
    setup: tuple[tuple[str, ...], ...] = ()  # kubectl commands run first (they must succeed)


CASES: tuple[Case, ...] = (
    Case("deployment", ("create", "deployment", "web", "--image=nginx:1.25", "--replicas=3", "--port=80")),
    Case("deployment_zero", ("create", "deployment", "idle", "--image=nginx:1.25", "--replicas=0")),
    Case("deployment_multi", ("create", "deployment", "multi", "--image=nginx:1.25", "--image=redis:7")),
    Case("deployment_cmd", ("create", "deployment", "cmd", "--image=busybox", "--", "sleep", "3600")),
    Case("ingress", ("create", "ingress", "ing", "--class=nginx", "--rule=foo.com/bar*=svc1:8080,tls=my-cert",
                     "--rule=other.com/=svc2:http", "--default-backend=defsvc:80",
                     "--annotation=nginx.ingress.kubernetes.io/rewrite-target=/")),
    Case("configmap", ("create", "configmap", "c", "--from-literal=a=1", "--from-literal=b=2")),
    Case("configmap_binary", ("create", "configmap", "bin", "--from-file=blob=@BLOB@", "--from-literal=k=v")),
    Case("secret", ("create", "secret", "generic", "s", "--from-literal=p=x")),
    Case("secret_tls", ("create", "secret", "generic", "typed", "--type=example.com/custom",
                        "--from-literal=user=admin", "--from-literal=pass=s3cr3t")),
    Case("secret_docker", ("create", "secret", "docker-registry", "reg", "--docker-server=registry.local",
                           "--docker-username=u", "--docker-password=p", "--docker-email=u@example.com")),
    Case("namespace", ("create", "namespace", "n1")),
    Case("service_nodeport", ("create", "service", "nodeport", "np", "--tcp=80:8080", "--node-port=30080")),
    Case("service_clusterip", ("create", "service", "clusterip", "cip", "--tcp=5678:8080", "--tcp=443")),
    Case("service_headless", ("create", "service", "clusterip", "hl", "--clusterip=None")),
    Case("service_externalname", ("create", "service", "externalname", "ext", "--external-name=example.com")),
    Case("service_loadbalancer", ("create", "service", "loadbalancer", "lb", "--tcp=80:http")),
    Case("serviceaccount", ("create", "serviceaccount", "sa1")),
    Case("job", ("create", "job", "j", "--image=busybox", "--", "echo", "hi")),
    Case("cronjob", ("create", "cronjob", "cj", "--image=busybox", "--schedule=*/5 * * * *",
                     "--restart=OnFailure", "--", "date")),
    Case("quota", ("create", "quota", "q", "--hard=pods=2")),
    # kubectl reads the stored CronJob back and re-encodes its whole job template as protobuf.
    Case("job_from_cronjob", ("create", "job", "rich-run", "--from=cronjob/rich"),
         setup=(("apply", "-f", str(GOLDEN / "rich_cronjob.yaml")),)),
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proxy:
    """Forwards to the upstream API server and keeps the protobuf request bodies it sees."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.captured: list[tuple[str, str, bytes]] = []
        self._session: ClientSession | None = None
        self._runner: web.AppRunner | None = None

    async def start(self, port: int) -> None:
        self._session = ClientSession(timeout=ClientTimeout(total=30), auto_decompress=False)
        app = web.Application(client_max_size=8 << 20)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        if request.headers.get("Content-Type", "").split(";")[0].strip() == PROTOBUF:
            self.captured.append((request.method, request.path_qs, body))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._session.request(request.method, self.upstream + request.path_qs, headers=headers,
                                         data=body if body else None) as up:
            payload = await up.read()
            out = {k: v for k, v in up.headers.items()
                   if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")}
            return web.Response(status=up.status, body=payload, headers=out)


def write_kubeconfig(path: Path, port: int) -> None:
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: capture\n  cluster:\n    server: http://127.0.0.1:{port}\n"
        "users:\n- name: capture\n  user: {}\n"
        "contexts:\n- name: capture\n  context:\n    cluster: capture\n    user: capture\n    namespace: default\n"
        "current-context: capture\n")


async def run(kubectl: str, only: set[str]) -> int:
    home = Path(tempfile.mkdtemp(prefix="jetkube-capture-"))
    work = Path(tempfile.mkdtemp(prefix="jetkube-capture-kc-"))
    env = {**os.environ, "JETKUBE_HOME": str(home)}
    api_port, proxy_port = free_port(), free_port()
    jetkube = str(ROOT / ".venv" / "bin" / "jetkube")
    proxy = Proxy(f"http://127.0.0.1:{api_port}")
    up = False
    failures = 0
    try:
        subprocess.run([jetkube, "up", "--detach", "--port", str(api_port)], env=env, check=True,
                       stdout=subprocess.DEVNULL, timeout=120)
        up = True
        await proxy.start(proxy_port)
        kubeconfig = work / "kubeconfig"
        write_kubeconfig(kubeconfig, proxy_port)
        blob = work / "blob.bin"
        blob.write_bytes(bytes([0, 1, 2, 0xFE, 0xFF]) + b"binary\n")
        kenv = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(work)}
        GOLDEN.mkdir(exist_ok=True)
        for case in CASES:
            if only and case.name not in only:
                continue
            args = [a.replace("@BLOB@", str(blob)) for a in case.args]
            for step in case.setup:  # asynchronously: the proxy answering it runs on this event loop
                proc = await asyncio.create_subprocess_exec(kubectl, *step, env=kenv, stdout=asyncio.subprocess.PIPE,
                                                            stderr=asyncio.subprocess.PIPE)
                _, err = await asyncio.wait_for(proc.communicate(), 60)
                if proc.returncode != 0:
                    raise RuntimeError(f"{case.name}: setup `kubectl {' '.join(step)}` failed: "
                                       f"{err.decode(errors='replace').strip()}")
            proxy.captured.clear()
            proc = await asyncio.create_subprocess_exec(kubectl, *args, env=kenv, stdout=asyncio.subprocess.PIPE,
                                                        stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            if not proxy.captured:
                failures += 1
                print(f"{case.name}: kubectl sent no protobuf body (exit {proc.returncode}): "
                      f"{(out + err).decode(errors='replace').strip()}", file=sys.stderr)
                continue
            method, path, body = proxy.captured[-1]
            (GOLDEN / f"{case.name}.pb").write_bytes(body)
            (GOLDEN / f"{case.name}.request").write_text(f"{method} {path}\n")
            print(f"{case.name}: {method} {path} ({len(body)} bytes)")
            if case.dry_run:
                dry = [*args]
                if "--" in dry:
                    i = dry.index("--")
                    dry[i:i] = ["--dry-run=client", "-o", "json"]
                else:
                    dry += ["--dry-run=client", "-o", "json"]
                proc = await asyncio.create_subprocess_exec(kubectl, *dry, env=kenv, stdout=asyncio.subprocess.PIPE,
                                                            stderr=asyncio.subprocess.PIPE)
                out, err = await asyncio.wait_for(proc.communicate(), 60)
                if proc.returncode == 0:
                    (GOLDEN / f"{case.name}.dryrun.json").write_bytes(out)
                else:
                    print(f"{case.name}: dry run failed: {err.decode(errors='replace').strip()}", file=sys.stderr)
    finally:
        await proxy.stop()
        if up:
            subprocess.run([jetkube, "down"], env=env, stdout=subprocess.DEVNULL, timeout=60)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kubectl", default=shutil.which("kubectl") or "/usr/bin/kubectl")
    p.add_argument("--only", nargs="*", default=[], help="case names to capture (default: all)")
    a = p.parse_args()
    return asyncio.run(run(a.kubectl, set(a.only)))


if __name__ == "__main__":
    sys.exit(main())
