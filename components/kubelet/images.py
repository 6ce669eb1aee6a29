"""Image pull policy without a registry. Pure.

jetkube reaches no registry by rule: an image is pulled only from the registries given with
`--registry` (none by default); otherwise only images in the local store run. `pull_wanted` says
whether the policy asks for a pull (Always, and IfNotPresent when the image is missing);
`messages` gives the Event and waiting texts, naming the command that builds the image when
jetkube has a recipe for it (`jetkube image build <name>`).
"""

from __future__ import annotations

from core.defaults import default_pull_policy

# Images `jetkube image build` can make (ops/images.py), by repository → recipe name.
RECIPES = {"busybox": "busybox", "nginx": "nginx", "jetkube/pause": "pause"}


def repository(image: str) -> str:
    """`docker.io/library/nginx:1.22` → `nginx`; `jetkube/pause@sha256:…` → `jetkube/pause`."""
    ref = image.split("@", 1)[0]
    head, _, last = ref.rpartition("/")
    if ":" in last:
        last = last.split(":", 1)[0]
    ref = f"{head}/{last}" if head else last
    for known in ("docker.io/library/", "docker.io/", "index.docker.io/library/", "library/"):
        if ref.startswith(known):
            ref = ref[len(known):]
    return ref


def recipe(image: str) -> str | None:
    return RECIPES.get(repository(image))


def policy_of(container: dict[str, object]) -> str:
    p = container.get("imagePullPolicy")
    return p if isinstance(p, str) and p else default_pull_policy(str(container.get("image", "")))


def pull_wanted(policy: str, present: bool) -> bool:
    if policy == "Never":
        return False
    if policy == "IfNotPresent":
        return not present
    return True


def build_hint(image: str) -> str:
    name = recipe(image)
    if name is not None:
        return f"build it with `jetkube image build {name}`"
    return "build or load it locally with docker (`docker build` / `docker load`)"


def registry_ref(image: str, registry: str) -> str:
    """The reference of `image` in `registry` (a scheme in the URL is dropped)."""
    host = registry.split("://", 1)[-1].rstrip("/")
    return f"{host}/{repository(image)}" + _suffix(image)


def _suffix(image: str) -> str:
    if "@" in image:
        return "@" + image.split("@", 1)[1]
    last = image.rsplit("/", 1)[-1]
    return ":" + last.split(":", 1)[1] if ":" in last else ":latest"


def present_message(image: str) -> str:
    return f'Container image "{image}" already present on machine'


def unpullable_message(image: str, registries: tuple[str, ...]) -> str:
    why = "no registry reachable" if registries else "no registry configured"
    return f'Container image "{image}" already present on machine and can not be pulled ({why})'


def never_pull_message(image: str) -> str:
    return f'Container image "{image}" is not present with pull policy of Never; {build_hint(image)}'


def pull_failed_message(image: str, registries: tuple[str, ...], errors: list[str]) -> str:
    if registries:
        why = "no registry could provide it (" + "; ".join(errors) + ")"
    else:
        why = "no registry is reachable (jetkube pulls only from --registry)"
    return f'Failed to pull image "{image}": not present locally and {why}; {build_hint(image)}'
