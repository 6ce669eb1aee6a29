"""Components never import each other. import-linter checks the layers and core's purity; this
checks sibling components, including ones added later, without editing a contract."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_components_do_not_import_each_other() -> None:
    packages = sorted(p.name for p in (ROOT / "components").iterdir() if (p / "__init__.py").exists())
    assert "apiserver" in packages
    offenders = []
    for pkg in packages:
        for f in (ROOT / "components" / pkg).rglob("*.py"):
            for mod in _imports(f):
                parts = mod.split(".")
                if parts[0] == "components" and len(parts) > 1 and parts[1] in packages and parts[1] != pkg:
                    offenders.append(f"{f.relative_to(ROOT)} imports {mod}")
    assert offenders == []

