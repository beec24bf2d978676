"""The CI recipe and the pre-commit hooks, run as documented: the README's GitHub Actions
`patchlint check` line on a fixture repository with an origin, and each entry of
.pre-commit-hooks.yaml as a command (tests/test_precommit.py runs them through pre-commit itself)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from .conftest import GIT_ENV, ROOT, SERIES, git

jsonschema = pytest.importorskip("jsonschema")

BIN = Path(sys.executable).parent


def shell(command: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV | env
    full["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run(["sh", "-c", command], cwd=cwd, env=full, capture_output=True, text=True, timeout=300)


def readme_ci_command() -> str:
    readme = (ROOT / "README.md").read_text()
    workflow = readme[readme.index("### CI: GitHub code scanning"):]
    (line,) = [ln for ln in workflow.splitlines() if ln.strip().startswith("- run: patchlint check")]
    return line.strip().removeprefix("- run: ")


def test_readme_workflow_command_is_the_documented_one():
    assert readme_ci_command() == "patchlint check --range origin/master..HEAD --format sarif > patchlint.sarif"


def test_readme_workflow_command_on_a_fixture_repository(tree_repo, tmp_path):
    work = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(tree_repo), str(work))  # origin/master is the base
    git(work, "am", "-q", str(sorted((SERIES / "three-patches").glob("0001-*.patch"))[0]),
        str(SERIES / "storage-key-rfc.mbox"))
    proc = shell(readme_ci_command(), work)
    assert proc.returncode == 1, proc.stderr  # a new error: the job fails, the upload step still runs
    log = json.loads((work / "patchlint.sarif").read_text())
    schema = json.loads(resources.files("patchlint").joinpath("schemas", "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    results = log["runs"][0]["results"]
    inversion = next(r for r in results if r["ruleId"] == "lock-order-inversion")
    location = inversion["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "mm/rmap.c" and location["region"]["startLine"] > 0
    assert inversion["properties"]["patch"] == 2
    assert [p["subject"] for p in log["runs"][0]["properties"]["patches"]] == [
        "mm: rmap: say where the swap entry in try_to_unmap_one() comes from",
        "s390: mm: rmap: Transfer storage key to struct page under the page lock"]


def manifest() -> list[dict[str, str]]:
    """.pre-commit-hooks.yaml, read as the flat list of mappings it is (no YAML library needed)."""
    hooks: list[dict[str, str]] = []
    for line in (ROOT / ".pre-commit-hooks.yaml").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = re.match(r"^(- |  )([\w-]+): (.*)$", line)
        assert m, f"unexpected line in .pre-commit-hooks.yaml: {line!r}"
        if m.group(1) == "- ":
            hooks.append({})
        hooks[-1][m.group(2)] = m.group(3)
    return hooks


def test_pre_commit_manifest_shape():
    hooks = manifest()
    assert [h["id"] for h in hooks] == ["patchlint", "patchlint-push"]
    for h in hooks:
        assert {"id", "name", "entry", "language"} <= set(h) and h["language"] == "python"
        # pre-commit runs an entry without a shell: the logic is patchlint's, not shell in YAML
        assert h["pass_filenames"] == "false" and h["entry"].startswith("patchlint check --")
        assert not any(c in h["entry"] for c in "'\"$|;&")
    assert [h["entry"] for h in hooks] == ["patchlint check --staged", "patchlint check --pushed"]


def _entry(hook_id: str) -> str:
    return next(h for h in manifest() if h["id"] == hook_id)["entry"]


def test_pre_commit_hook_checks_the_staged_changes(tree_repo):
    git(tree_repo, "am", "-q", str(SERIES / "storage-key-rfc.mbox"))
    git(tree_repo, "reset", "-q", "--soft", "HEAD~1")  # the RFC staged, not committed
    failing = shell(_entry("patchlint"), tree_repo)
    assert failing.returncode == 1, failing.stderr
    assert "ERROR:LOCK_ORDER_INVERSION:" in failing.stdout
    git(tree_repo, "reset", "-q", "--hard", "HEAD")
    git(tree_repo, "apply", "--cached", str(sorted((SERIES / "three-patches").glob("0003-*.patch"))[0]))
    clean = shell(_entry("patchlint"), tree_repo)
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_pre_commit_push_hook_checks_the_pushed_commits(tree_repo):
    base = git(tree_repo, "rev-parse", "HEAD").strip()
    git(tree_repo, "am", "-q", str(SERIES / "storage-key-rfc.mbox"))
    proc = shell(_entry("patchlint-push"), tree_repo, PRE_COMMIT_FROM_REF=base, PRE_COMMIT_TO_REF="HEAD")
    assert proc.returncode == 1 and "ERROR:LOCK_ORDER_INVERSION:" in proc.stdout, proc.stderr
