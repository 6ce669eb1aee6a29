"""Local images: no registry is reachable, so jetkube builds the images its examples need here.

- `busybox`: FROM scratch plus the static busybox of Debian's `busybox-static` (about 2 s).
- `pause`: the same busybox, waiting for a signal; owns each pod's network namespace.
- `nginx`: a real nginx from Debian's packages: a debootstrap minbase rootfs with nginx-light,
  imported as an image (about 40 s); logs go to the container's stdout and stderr.

Each is tagged `:latest` and with its upstream version. Building needs dockerd and, for nginx,
debootstrap with the apt mirror this machine is configured with (read from its apt sources).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAUSE_IMAGE = "jetkube/pause:latest"
BUSYBOX_BINARY = Path("/bin/busybox")
PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = "root:x:0:\nnogroup:x:65534:\n"


class ImageError(Exception):
    """An image cannot be built here; the message says what is missing."""


@dataclass(frozen=True)
class Recipe:
    name: str
    summary: str
    build: Callable[[Any], list[str]]  # docker client → tags made


def _docker() -> Any:
    from ops import dockerhost
    try:
        return dockerhost.connect(timeout=300)
    except dockerhost.DockerUnavailable as e:
        raise ImageError(str(e)) from e


def _busybox_version() -> str:
    if not BUSYBOX_BINARY.exists():
        raise ImageError(f"{BUSYBOX_BINARY} is missing: apt-get install busybox-static")
    out = subprocess.run([str(BUSYBOX_BINARY)], capture_output=True, text=True).stdout
    m = re.search(r"BusyBox v(\d+\.\d+\.\d+)", out)
    if not m:
        raise ImageError(f"{BUSYBOX_BINARY} does not say its version")
    probe = (subprocess.run(["file", "-L", str(BUSYBOX_BINARY)], capture_output=True, text=True).stdout
             if shutil.which("file") else "")  # `file` is not on every machine; without it, trust the package
    if probe and "static" not in probe:
        raise ImageError(f"{BUSYBOX_BINARY} is not statically linked: apt-get install busybox-static")
    return m.group(1)


def _scratch_context(dockerfile: str) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add(name: str, data: bytes, mode: int = 0o644) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
        add("Dockerfile", dockerfile.encode())
        add("busybox", BUSYBOX_BINARY.read_bytes(), 0o755)
        add("passwd", PASSWD.encode())
        add("group", GROUP.encode())
    buf.seek(0)
    return buf


def _build(client: Any, dockerfile: str, tags: list[str]) -> list[str]:
    ctx = _scratch_context(dockerfile)
    image, _ = client.images.build(fileobj=ctx, custom_context=True, tag=tags[0], rm=True, forcerm=True,
                                   pull=False)
    for t in tags[1:]:
        repo, _, tag = t.rpartition(":")
        image.tag(repo, tag)
    return tags


_BUSYBOX_FILES = """FROM scratch
COPY busybox /bin/busybox
COPY passwd /etc/passwd
COPY group /etc/group
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/busybox", "mkdir", "-p", "/tmp", "/root", "/var", "/home"]
RUN ["/bin/busybox", "chmod", "1777", "/tmp"]
"""


def build_busybox(client: Any) -> list[str]:
    v = _busybox_version()
    return _build(client, _BUSYBOX_FILES + 'CMD ["sh"]\n', ["busybox:latest", f"busybox:{v}"])


def build_pause(client: Any) -> list[str]:
    _busybox_version()
    script = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"
    dockerfile = _BUSYBOX_FILES + f'ENTRYPOINT ["/bin/sh", "-c", "{script}"]\n'
    return _build(client, dockerfile, [PAUSE_IMAGE, "jetkube/pause:1.0"])


def apt_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt uses (deb822 `URIs:` or a `deb` line)."""
    files = sorted((sources / "sources.list.d").glob("*.sources")) + [sources / "sources.list"]
    files += sorted((sources / "sources.list.d").glob("*.list"))
    for f in files:
        if not f.exists():
            continue
        for line in f.read_text().splitlines():
            line = line.strip()
            m = re.match(r"URIs:\s*(\S+)", line) or re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+\S+\s+main", line)
            if m and "security" not in m.group(1):
                return m.group(1)
    raise ImageError("no Debian mirror in /etc/apt sources; nginx needs one for debootstrap")


def build_nginx(client: Any) -> list[str]:
    if shutil.which("debootstrap") is None:
        raise ImageError("debootstrap is missing: apt-get install debootstrap")
    mirror = apt_mirror()
    with tempfile.TemporaryDirectory(prefix="jetkube-nginx-") as tmp:
        root = Path(tmp) / "rootfs"
        run = subprocess.run(["debootstrap", "--variant=minbase", "--include=nginx-light", "bookworm", str(root),
                              mirror], capture_output=True, text=True)
        if run.returncode != 0:
            tail = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["(no output)"]
            raise ImageError(f"debootstrap failed: {tail[0]}")
        version = subprocess.run(["chroot", str(root), "dpkg-query", "-W", "-f", "${Version}", "nginx-light"],
                                 capture_output=True, text=True).stdout
        m = re.match(r"(\d+\.\d+)\.(\d+)", version)
        if not m:
            raise ImageError(f"cannot tell the nginx version in the rootfs ({version!r})")
        logs = root / "var/log/nginx"
        for name, target in (("access.log", "/dev/stdout"), ("error.log", "/dev/stderr")):
            (logs / name).unlink(missing_ok=True)
            (logs / name).symlink_to(target)
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(root / junk, ignore_errors=True)
            (root / junk).mkdir(parents=True, exist_ok=True)
        tarball = Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(root), "-cf", str(tarball), "."], check=True)
        changes = ['CMD ["nginx", "-g", "daemon off;"]', "EXPOSE 80",
                   "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        tags = ["nginx:latest", f"nginx:{m.group(1)}.{m.group(2)}", f"nginx:{m.group(1)}"]
        # docker-py's streamed import breaks on large bodies ("invalid byte in chunk length"): use the CLI.
        cmd = ["docker", "import"] + [a for c in changes for a in ("--change", c)] + [str(tarball), tags[0]]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            raise ImageError(f"docker import failed: {out.stderr.strip()}")
        image = client.images.get(tags[0])
        for t in tags[1:]:
            repo, _, tag = t.rpartition(":")
            image.tag(repo, tag)
        return tags


RECIPES = {r.name: r for r in (
    Recipe("busybox", "FROM scratch + Debian's static busybox", build_busybox),
    Recipe("pause", "the pod sandbox (busybox waiting for a signal)", build_pause),
    Recipe("nginx", "nginx from Debian packages (debootstrap rootfs, ~40 s)", build_nginx),
)}

# What the examples and the kubelet need, in build order.
DEFAULT_SET = ("pause", "busybox", "nginx")


def build(name: str, client: Any | None = None) -> list[str]:
    recipe = RECIPES.get(name)
    if recipe is None:
        raise ImageError(f"no recipe for image {name!r}; known: {', '.join(RECIPES)}")
    return recipe.build(client or _docker())


def present(name: str, client: Any | None = None) -> bool:
    """Whether `name`'s :latest image (or the pause image) is already in the local store."""
    import docker
    c = client or _docker()
    tag = PAUSE_IMAGE if name == "pause" else f"{name}:latest"
    try:
        c.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def ensure(names: tuple[str, ...] = DEFAULT_SET, client: Any | None = None,
           say: Callable[[str], None] = lambda _m: None) -> list[str]:
    """Build whichever of `names` is missing; returns the tags built (empty if all were there)."""
    c = client or _docker()
    built: list[str] = []
    for n in names:
        if not present(n, c):
            say(f"building image {n} ({RECIPES[n].summary})")
            built += build(n, c)
    return built


def listing(client: Any | None = None) -> list[dict[str, Any]]:
    """Local images: repository tags, id, size and creation time."""
    c = client or _docker()
    rows = []
    for img in c.images.list():
        for tag in img.tags or ["<none>:<none>"]:
            rows.append({"tag": tag, "id": img.short_id.removeprefix("sha256:"),
                         "size": int(img.attrs.get("Size", 0)), "created": img.attrs.get("Created", "")[:19]})
    return sorted(rows, key=lambda r: r["tag"])
