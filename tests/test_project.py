"""The project's own promises: data ships in the wheel, the code is ruff clean,
stages import only stages to their left."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from patchlint.resources import grammars_dir

from .conftest import ROOT

STAGES = ["ingest", "source", "cparse", "extract", "model", "explore", "report", "workflow", "analysis", "cli"]
SHARED = {"records", "findings", "errors", "resources", "stamps", "seal", "printable", "__init__"}
# the command line's stage: its commands, the entry point, and the answers it remembers
CLI = {"cli", "launch", "answers", "console", "__main__"}


def test_grammars_found_from_source_tree():
    assert (grammars_dir() / "README.md").is_file()


def test_wheel_carries_grammars(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    if proc.returncode != 0 and "hatchling" in proc.stderr:
        pytest.skip("hatchling is not installed in this environment")
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("patchlint-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "patchlint/grammars/README.md" in names
    for data in ("patchlint/data/kinds.toml", "patchlint/schemas/report.schema.json",
                 "patchlint/schemas/sarif-schema-2.1.0.json"):
        assert data in names
    assert not any(n.startswith("fixtures/") or n.startswith("tests/") for n in names)


def _stage(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "patchlint" or len(parts) < 2:
        return None
    return parts[1]


@pytest.mark.parametrize("path", sorted((ROOT / "patchlint").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_stages_import_only_to_their_left(path: Path):
    own = path.relative_to(ROOT / "patchlint").parts[0].removesuffix(".py")
    own = "cli" if own in CLI else own
    if own in SHARED:
        allowed = SHARED
    elif own == "checks":  # static checks sit beside the model: they use the stages left of it
        allowed = SHARED | set(STAGES[: STAGES.index("model")]) | {"checks"}
    else:
        allowed = SHARED | set(STAGES[: STAGES.index(own) + 1]) | ({"checks"} if own in STAGES[4:] else set())
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            stage = _stage(node.module)
        elif isinstance(node, ast.Import):
            stage = next((_stage(a.name) for a in node.names if _stage(a.name)), None)
        else:
            continue
        if stage is not None:
            stage = "cli" if stage in CLI else stage
            assert stage in allowed, f"{path.name} ({own}) imports patchlint.{stage}"


# the C front-end's parse-tree API: only cparse reads tree-sitter nodes (the later stages get the IR)
_NODE_API = ("tree_sitter", "parse_tree", "cparse.tsapi", "root_node", "child_by_field_name", "named_children")


@pytest.mark.parametrize("path", sorted(p for p in (ROOT / "patchlint").rglob("*.py")
                                        if p.relative_to(ROOT / "patchlint").parts[0] != "cparse"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_tree_sitter_node_after_cparse(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(a.name for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
        else:
            continue
        for name in names:
            assert not any(name == api or name.endswith("." + api) or name.startswith(api + ".")
                           for api in _NODE_API), f"{path.name} uses {name}: the IR is cparse's API"


def test_ruff_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    proc = subprocess.run([ruff, "check", "patchlint", "tests"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_a_check_answered_from_the_cache_loads_neither_parser_walkers_model_nor_git(tmp_path):
    """A warm `check` of a plain directory that is not the same request again pays only for
    reading the series and the cache: the IR, the walkers, the model, GitPython and pydantic are
    imported when something is computed."""
    from .conftest import SERIES, TREE

    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    env = {**__import__("os").environ, "PATCHLINT_CACHE_DIR": str(tmp_path / "cache")}
    args = ["check", "--tree", str(tree), str(SERIES / "storage-key-rfc.mbox")]
    heavy = ("git", "pydantic", "patchlint.cparse.ir", "patchlint.extract.walker", "patchlint.extract.engine",
             "patchlint.checks.scope", "patchlint.model", "patchlint.explore.explorer")
    probe = ("import sys, runpy\n"
             f"sys.argv = ['patchlint', *{args!r}]\n"
             "try:\n    runpy.run_module('patchlint', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r} or m.startswith({heavy!r})),"
             " file=sys.stderr)\n")
    cold = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert "patchlint.extract.engine" in cold.stderr  # the first check computes
    # another format: not the answer the first run printed (patchlint.answers), but the same states
    warm = subprocess.run([sys.executable, "-c", probe.replace("'check', ", "'check', '--format', 'json', ")],
                          capture_output=True, text=True, env=env)
    assert '"findings"' in warm.stdout and warm.stderr.strip().splitlines()[-1] == "[]", warm.stderr
