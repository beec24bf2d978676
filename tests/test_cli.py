"""The command line as users run it: `patchlint show`, `--version`, `--help`, JSON, git ranges."""

from __future__ import annotations

import json
import os

from patchlint import __version__

from .conftest import SERIES, TREE, git, run_patchlint

BASE = "d3b5b9cbcc324be695cedb33eaf3ef8959fe5520"


def _json(*args: str, **kw) -> dict:
    proc = run_patchlint("show", "--format", "json", *args, **kw)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def test_version_and_help():
    proc = run_patchlint("--version")
    assert proc.returncode == 0 and proc.stdout.decode().strip() == f"patchlint {__version__}"
    help_text = run_patchlint("--help").stdout.decode()
    assert "show" in help_text
    show_help = run_patchlint("show", "--help").stdout.decode()
    for option in ("--range", "--tree", "--base", "--lenient", "--format"):
        assert option in show_help


def test_show_three_patch_mbox_lists_patches_in_order():
    proc = run_patchlint("show", "--tree", str(TREE), str(SERIES / "three-patches-shuffled.mbox"))
    assert proc.returncode == 0
    out = proc.stdout.decode()
    positions = [out.index(f"[PATCH {n}/3]") for n in (1, 2, 3)]
    assert positions == sorted(positions)
    assert "applies: yes" in out and "applies: NO" not in out
    assert proc.stderr.decode().count("patchlint: note:") == 2  # the reply and the stray mail


def test_show_json_document_shape():
    doc = _json("--tree", str(TREE), str(SERIES / "three-patches.mbox"))
    assert set(doc) >= {"tool", "version", "tree", "patches", "findings"}
    assert doc["tool"] == "patchlint" and doc["version"] == __version__
    assert doc["tree"]["kernel_version"] == "3.0.13"
    assert [p["number"] for p in doc["patches"]] == [1, 2, 3]
    assert doc["cover"]["tag"] == "[PATCH 0/3]"
    hunk = doc["patches"][2]["files"][0]["hunks"][0]
    assert hunk["apply"]["status"] == "applied" and hunk["apply"]["line"] >= 1
    assert doc["findings"] == []


def test_show_is_deterministic():
    args = ("show", "--format", "json", "--tree", str(TREE), str(SERIES / "three-patches.mbox"))
    assert run_patchlint(*args).stdout == run_patchlint(*args).stdout


def test_show_reads_stdin():
    data = (SERIES / "single.patch").read_bytes()
    doc = _json("--tree", str(TREE), "-", stdin=data)
    assert doc["patches"][0]["source"] == "-"
    assert doc["patches"][0]["applied"] is True


def test_show_without_a_tree_outside_a_kernel_tree_does_not_apply(tmp_path):
    proc = run_patchlint("show", str(SERIES / "single.patch"), cwd=tmp_path)
    assert proc.returncode == 0
    assert "applies: not checked" in proc.stdout.decode()


def test_seed_is_one_line_exit_2(seed):
    proc = run_patchlint("show", str(seed))
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and "whitespace-damaged" in err and str(seed) in err
    assert proc.stdout == b""


def test_seed_lenient_places_hunks_and_marks_them_recovered(seed):
    doc = _json("--lenient", "--tree", str(TREE), str(seed))
    (patch,) = doc["patches"]
    assert patch["applied"] is True
    statuses = [h["apply"]["status"] for f in patch["files"] for h in f["hunks"]]
    assert statuses == ["recovered"] * 4
    kinds = {f["kind"] for f in doc["findings"]}
    assert kinds == {"damaged-patch"}
    assert len(doc["findings"]) == 4
    assert all(h["damage"]["reasons"] for f in patch["files"] for h in f["hunks"])


def test_range_reads_each_commit_as_a_patch_against_a(tree_repo):
    git(tree_repo, "am", "-q", *sorted(str(p) for p in (SERIES / "three-patches").glob("000[123]-*.patch")))
    doc = _json("--range", "master~3..master", "--tree", str(tree_repo))
    assert doc["tree"]["revision"] == BASE
    assert doc["base_commit"] == BASE
    assert [p["subject"] for p in doc["patches"]] == [
        p["subject"] for p in _json("--tree", str(TREE), str(SERIES / "three-patches.mbox"))["patches"]]
    assert all(p["applied"] for p in doc["patches"])
    assert all(len(p["commit"]) == 40 for p in doc["patches"])


def test_errors_carry_one_prefix_and_help_names_its_values():
    for args in (("check",), ("check", "--fail-on", "bogus", "x.patch"), ("explain", "no-such-kind")):
        err = run_patchlint(*args).stderr.decode()
        assert err.count("\n") == 1 and err.startswith("patchlint") and "patchlint: patchlint" not in err, err
    help_text = run_patchlint("scan", "--help").stdout.decode()
    assert "--tree DIR" in help_text and "--base REV" in help_text and "[PATH]..." in help_text
    assert "<str>" not in help_text and "<int" not in help_text and "paths_" not in help_text


def test_scan_says_nothing_on_a_stderr_that_is_not_a_terminal():
    proc = run_patchlint("scan", "--tree", str(TREE), "--format", "terse", "mm")
    assert proc.stderr == b""


def test_staged_and_pushed_refuse_other_inputs_and_option_like_names(tree_repo, tmp_path):
    def one_line_error(proc, *words: str) -> None:
        err = proc.stderr.decode()
        assert proc.returncode == 2 and err.count("\n") == 1 and all(w in err for w in words), err
        assert proc.stdout == b""

    one_line_error(run_patchlint("check", "--staged", "x.patch", cwd=tree_repo), "--staged", "alone")
    one_line_error(run_patchlint("check", "--pushed", "--range", "HEAD~1..HEAD", cwd=tree_repo), "--pushed")
    one_line_error(run_patchlint("check", "--staged", cwd=tmp_path), "--staged needs a git repository")
    env = {**os.environ, "PRE_COMMIT_TO_REF": "--output=/tmp/x"}
    one_line_error(run_patchlint("check", "--pushed", cwd=tree_repo, env=env), "PRE_COMMIT_TO_REF",
                   "is not a revision")
    env = {**os.environ, "PRE_COMMIT_FROM_REF": "no-such-branch", "PRE_COMMIT_TO_REF": "HEAD"}
    one_line_error(run_patchlint("check", "--pushed", cwd=tree_repo, env=env), "no-such-branch", "not found")
    # nothing staged, nothing any remote lacks beyond the root commit: both pass, silently
    for option in ("--staged", "--pushed"):
        proc = run_patchlint("check", option, cwd=tree_repo)
        assert proc.returncode == 0 and proc.stdout == b"" and proc.stderr == b"", proc.stderr
    # only C is analysed: a staged binary or Kconfig change is nothing to check (nor undecodable input)
    (tree_repo / "logo.bin").write_bytes(bytes(range(256)) * 4)
    with (tree_repo / "Kconfig").open("ab") as fh:
        fh.write(b"# \xbb latin-1 comment\n")
    git(tree_repo, "add", "logo.bin", "Kconfig")
    proc = run_patchlint("check", "--staged", cwd=tree_repo)
    assert proc.returncode == 0 and proc.stdout == b"" and proc.stderr == b"", proc.stderr
