"""Sharded scans: `scan --shard K/N` and `sarif-merge`, run as the README's CI recipes run them.

The recipes' own command lines are read from README.md (the GitHub Actions and GitLab CI blocks
of "CI: a whole tree in shards") and run through sh in a copy of fixtures/trees/gadget-6.1, whose
findings spread over five files in four directories, with lock-order inversions whose two paths
run through two files.  Each set of shards is merged and compared, byte for byte, with the
unsharded scan's SARIF: the recipe's scan line without its --shard.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from patchlint.errors import PatchlintError
from patchlint.findings import Shard, shard_of
from patchlint.report.merge import merge_shards, read_shard

from .conftest import FIXTURES, GIT_ENV, ROOT, git, run_patchlint

GADGET = FIXTURES / "trees" / "gadget-6.1"
BIN = Path(sys.executable).parent
# GitHub Actions' expressions in the recipe, as the runner fills them for matrix job K of N
GITHUB = {"${{ matrix.shard }}": "{k}", "${{ strategy.job-total }}": "{n}"}


def recipe(block_title: str) -> tuple[str, str]:
    """The `patchlint scan --shard` and `patchlint sarif-merge` lines of one of the README's CI blocks."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### CI: a whole tree in shards"):]
    section = section[:section.index("\n### ")]
    start = section.index(block_title)
    block = section[section.index("```yaml", start):]
    block = block[:block.index("\n```\n")]
    lines = [re.sub(r"^\s*-\s+(run:\s+)?", "", ln) for ln in block.splitlines()]
    (scan,) = [ln for ln in lines if ln.startswith("patchlint scan --shard")]
    (merge,) = [ln for ln in lines if ln.startswith("patchlint sarif-merge")]
    return scan, merge


def shell(command: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV | env
    full["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    full.pop("PATCHLINT_DEBUG", None)
    return subprocess.run(["sh", "-c", command], cwd=cwd, env=full, capture_output=True, text=True, timeout=300)


def job(line: str, k: int, n: int) -> str:
    """A recipe line as the runner of job K of N runs it (GitLab's variables are the shell's)."""
    for expr, value in GITHUB.items():
        line = line.replace(expr, value.format(k=k, n=n))
    return line


def unsharded(scan_line: str) -> str:
    """The recipe's scan as one job: without --shard, into its own file."""
    command = re.sub(r" --shard \S+", "", job(scan_line, 1, 1))
    return command[:command.index(" > ")] + " > unsharded.sarif"


def test_readme_recipes_are_the_documented_ones():
    github_scan, github_merge = recipe("GitHub Actions")
    gitlab_scan, gitlab_merge = recipe("GitLab CI")
    assert github_scan == ("patchlint scan --shard ${{ matrix.shard }}/${{ strategy.job-total }} --format sarif "
                           "mm fs kernel lib > patchlint-${{ matrix.shard }}.sarif")
    assert gitlab_scan == ("patchlint scan --shard $CI_NODE_INDEX/$CI_NODE_TOTAL --format sarif mm fs kernel lib "
                           "> patchlint-$CI_NODE_INDEX.sarif")
    assert github_merge == gitlab_merge == "patchlint sarif-merge patchlint-*.sarif > patchlint.sarif"


def _checkout(tmp_path: Path, name: str, as_git: bool) -> Path:
    work = tmp_path / name
    shutil.copytree(GADGET, work)
    if as_git:  # what actions/checkout and a GitLab runner give: a repository
        git(work, "init", "-q", "-b", "master")
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", "gadget fixture")
    return work


@pytest.mark.parametrize("ci,as_git,counts", [("GitHub Actions", True, (1, 2, 3, 4)),
                                              ("GitLab CI", False, (3,))])
def test_recipe_shards_merge_to_the_unsharded_sarif(tmp_path, ci, as_git, counts):
    scan, merge = recipe(ci)
    work = _checkout(tmp_path, "tree", as_git)
    whole = shell(unsharded(scan), work, PATCHLINT_CACHE_DIR=str(tmp_path / "cache-whole"))
    assert whole.returncode == 0, whole.stderr
    expected = (work / "unsharded.sarif").read_bytes()
    results = json.loads(expected)["runs"][0]["results"]
    # the fixture's findings: several kinds, in five files of four directories
    assert len(results) >= 8 and len({r["ruleId"] for r in results}) >= 5
    assert len({r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}) == 5
    for n in counts:
        out = tmp_path / f"jobs-{n}"
        out.mkdir()
        for k in range(1, n + 1):
            # each job on its own machine: its own checkout path is the same, its cache its own
            proc = shell(job(scan, k, n), work, CI_NODE_INDEX=str(k), CI_NODE_TOTAL=str(n),
                         PATCHLINT_CACHE_DIR=str(tmp_path / f"cache-{n}-{k}"))
            assert proc.returncode == 0, proc.stderr
            assert proc.stderr == ""  # not a terminal: nothing but errors on stderr
            shutil.move(work / f"patchlint-{k}.sarif", out / f"patchlint-{k}.sarif")
        proc = shell(merge, out)
        assert proc.returncode == 0, proc.stderr
        assert (out / "patchlint.sarif").read_bytes() == expected, f"{n} shards merged differ from the scan"
        owned = [json.loads((out / f"patchlint-{k}.sarif").read_text())["runs"][0]["results"]
                 for k in range(1, n + 1)]
        assert sum(len(r) for r in owned) == len(results)  # each finding in exactly one shard
        if n == 4:
            assert all(owned), "the fixture gives each of 4 shards findings (the hash's split of its files)"


def test_two_file_inversions_come_out_once_and_alike(tmp_path):
    """A lock-order inversion's paths run through two files in two shards: it is reported once, in
    the shard of the file it is reported at, and as the unsharded scan reports it."""
    env = {**os.environ, "PATCHLINT_CACHE_DIR": str(tmp_path / "cache")}
    whole = run_patchlint("scan", "--tree", str(GADGET), "--format", "json", "mm", "fs", "kernel", "lib", env=env)
    assert whole.returncode == 0, whole.stderr
    inversions = [f for f in json.loads(whole.stdout)["findings"] if f["kind"] == "lock-order-inversion"]
    spans = [{s["file"] for s in f["trace"]} for f in inversions]
    assert len(inversions) == 2 and all(len(files) >= 2 for files in spans)
    n = 4
    assert all(len({shard_of(p, n) for p in files}) >= 2 for files in spans)  # split between shards
    got: list[dict] = []
    for k in range(1, n + 1):
        proc = run_patchlint("scan", "--tree", str(GADGET), "--format", "json", "--shard", f"{k}/{n}",
                             "mm", "fs", "kernel", "lib", env=env)
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["shard"] == {"index": k, "count": n}
        mine = [f for f in doc["findings"] if f["kind"] == "lock-order-inversion"]
        assert all(shard_of(f["file"], n) == k for f in mine)
        got += mine
    assert sorted(got, key=json.dumps) == sorted(inversions, key=json.dumps)


def test_shard_rule_is_the_documented_hash():
    """The rule README states: 1 + (first 8 bytes of SHA-256 of the path, big-endian) mod N; no
    file: shard 1.  Each path is in exactly one shard, whatever other paths there are."""
    paths = [f"mm/f{i}.c" for i in range(200)] + ["fs/ext4/inode.c", "kernel/sched/core.c", "lib/ü.c"]
    for n in (1, 2, 3, 7):
        for p in paths:
            expected = int.from_bytes(hashlib.sha256(p.encode()).digest()[:8], "big") % n + 1
            assert shard_of(p, n) == expected
            assert [Shard(k, n).owns(p) for k in range(1, n + 1)].count(True) == 1
        assert Shard(1, n).owns(None) and not any(Shard(k, n).owns(None) for k in range(2, n + 1))
    # a hash, not a round-robin of a sorted list: every shard of 3 gets about a third of 200 files
    assert all(50 <= sum(shard_of(p, 3) == k for p in paths[:200]) <= 84 for k in (1, 2, 3))


@pytest.mark.parametrize("value,says", [
    ("0/3", "K must be between 1 and N (3)"), ("4/3", "K must be between 1 and N (3)"),
    ("1/0", "N must be between 1 and"), ("3", "is not K/N"), ("a/b", "is not K/N"), ("-1/3", "is not K/N"),
    ("1/99999", "N must be between 1 and"), ("/", "has no K or no N"),
])
def test_bad_shard_is_one_line_exit_2(value, says, tmp_path):
    proc = run_patchlint("scan", "--tree", str(GADGET), f"--shard={value}", "mm",
                         env={**os.environ, "PATCHLINT_CACHE_DIR": str(tmp_path)})
    err = proc.stderr.decode()
    assert proc.returncode == 2 and proc.stdout == b""
    assert err.count("\n") == 1 and err.startswith(f"patchlint: --shard {value}: ") and says in err, err


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> dict[str, Path]:
    """The SARIF of shards 1/2 and 2/2 and of 1/3 of the fixture's scan, and the unsharded scan's."""
    out = tmp_path_factory.mktemp("shards")
    env = {**os.environ, "PATCHLINT_CACHE_DIR": str(out / "cache")}
    files = {}
    for name, extra in (("whole", []), ("1-2", ["--shard", "1/2"]), ("2-2", ["--shard", "2/2"]),
                        ("1-3", ["--shard", "1/3"])):
        proc = run_patchlint("scan", "--tree", str(GADGET), "--format", "sarif", *extra, "mm", "fs", "kernel", "lib",
                             env=env)
        assert proc.returncode == 0, proc.stderr
        files[name] = out / f"{name}.sarif"
        files[name].write_bytes(proc.stdout)
    return files


def _edited(shards: dict[str, Path], tmp_path: Path, name: str, edit) -> Path:
    log = json.loads(shards[name].read_text())
    edit(log)
    path = tmp_path / f"edited-{name}.sarif"
    path.write_text(json.dumps(log, indent=2))
    return path


def _refused(paths: list[Path], says: str) -> None:
    with pytest.raises(PatchlintError) as err:
        merge_shards([read_shard(str(p)) for p in paths])
    assert says in err.value.render(), err.value.render()


def test_merge_refuses_what_is_not_one_scan_in_full(shards, tmp_path):
    one, two = shards["1-2"], shards["2-2"]
    _refused([one], "shard 2/2 missing (given: 1/2 in")
    _refused([one, one, two], "is shard 1/2, as")
    _refused([one, shards["1-3"]], "shards of scans split differently")
    _refused([shards["whole"], two], "is not the SARIF of a shard")

    def other_tree(log):
        log["runs"][0]["properties"]["tree"]["path"] = "/elsewhere"
    _refused([one, _edited(shards, tmp_path, "2-2", other_tree)], "runs[0].properties.tree.path differs")

    def other_version(log):
        log["runs"][0]["tool"]["driver"]["version"] = "0.0.1"
    _refused([_edited(shards, tmp_path, "1-2", other_version), two], "runs[0].tool.driver.version differs")

    def reordered(log):
        log["runs"][0]["results"].reverse()
    assert len(json.loads(two.read_text())["runs"][0]["results"]) > 1
    _refused([one, _edited(shards, tmp_path, "2-2", reordered)], "out of patchlint's order")

    def moved(log):  # a result in a file of the other shard
        loc = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        loc["uri"] = next(p for p in ("mm/gadget_pool.c", "lib/gadget_stats.c") if shard_of(p, 2) == 1)
    _refused([one, _edited(shards, tmp_path, "2-2", moved)], "which shard 2/2 does not own")

    def junk(log):  # values of the wrong types: refused for what they are, never a traceback
        log["runs"][0]["results"][0]["locations"] = {"x": 1}
        log["runs"][0]["results"][1]["properties"]["patch"] = "x"
    _refused([one, _edited(shards, tmp_path, "2-2", junk)], "does not own")

    def two_runs(log):
        log["runs"].append(log["runs"][0])
    _refused([_edited(shards, tmp_path, "1-2", two_runs), two], "has 2 runs")
    bad = tmp_path / "bad.sarif"
    bad.write_text('{"version": "2.1.0",\n "runs": [}')
    _refused([bad], "bad.sarif:2: is not JSON")


def test_merge_command_writes_the_scan_and_errors_in_one_line(shards, tmp_path):
    proc = run_patchlint("sarif-merge", str(shards["2-2"]), str(shards["1-2"]))
    assert proc.returncode == 0 and proc.stdout == shards["whole"].read_bytes()
    missing = run_patchlint("sarif-merge", str(shards["1-2"]), str(tmp_path / "nope.sarif"))
    err = missing.stderr.decode()
    assert missing.returncode == 2 and missing.stdout == b"" and err.count("\n") == 1
    assert err.startswith(f"patchlint: {tmp_path / 'nope.sarif'}: cannot read"), err


def test_shard_report_validates_and_says_which(shards):
    jsonschema = pytest.importorskip("jsonschema")
    from importlib import resources

    schema = json.loads(resources.files("patchlint").joinpath("schemas", "sarif-schema-2.1.0.json").read_text())
    log = json.loads(shards["1-2"].read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    assert log["runs"][0]["properties"]["shard"] == {"index": 1, "count": 2}
    assert "shard" not in json.loads(shards["whole"].read_text())["runs"][0]["properties"]


def test_doctor_prints_peak_memory(tmp_path):
    proc = run_patchlint("doctor", "--tree", str(GADGET), env={**os.environ, "PATCHLINT_CACHE_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    (line,) = [ln for ln in proc.stdout.decode().splitlines() if ln.startswith("peak memory: ")]
    megabytes = float(re.match(r"peak memory: ([0-9.]+) MB resident", line).group(1))
    assert 10 < megabytes < 4000  # a Python process that parsed a few files: not KiB read as bytes


def test_scan_on_a_terminal_says_its_peak_memory_and_stdout_is_unchanged(tmp_path):
    """The summary goes to stderr only when a person watches it (a terminal); stdout's report is
    the same bytes either way."""
    import pty

    env = {**os.environ, "PATCHLINT_CACHE_DIR": str(tmp_path)}
    args = [sys.executable, "-m", "patchlint", "scan", "--tree", str(GADGET), "--format", "sarif", "--shard", "2/2",
            "mm", "fs", "kernel", "lib"]
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=secondary, env=env, cwd=ROOT, timeout=120)
        os.close(secondary)
        said = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the terminal's other end closed: all read
                break
            if not chunk:
                break
            said += chunk
    finally:
        os.close(primary)
    plain = run_patchlint(*args[3:], env=env)
    assert proc.returncode == plain.returncode == 0
    assert proc.stdout == plain.stdout and plain.stderr == b""
    assert re.search(rb"patchlint: 3 findings in shard 2/2; peak memory: [0-9.]+ MB resident", said), said
