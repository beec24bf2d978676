"""What a person at a terminal sees besides the report (patchlint.console): progress while the
work goes on, colour, a red error prefix -- on a terminal only; the bytes a program reads are
the same as before.  The terminal is a pseudo-terminal, as a person's would be."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, SERIES, TREE, run_patchlint


def on_terminal(*args: str, stdout_tty: bool = False, env: dict[str, str] | None = None) -> tuple[int, bytes, bytes]:
    """Run patchlint with stderr (and, if asked, stdout) on a pseudo-terminal: exit status,
    stdout, stderr."""
    err_master, err_slave = pty.openpty()
    out_master, out_slave = pty.openpty() if stdout_tty else (None, None)
    proc = subprocess.Popen([sys.executable, "-m", "patchlint", *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=out_slave if out_slave is not None else subprocess.PIPE, stderr=err_slave,
                            env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "200"} | (env or {}))
    os.close(err_slave)
    if out_slave is not None:
        os.close(out_slave)
    streams = {err_master: bytearray()}
    streams[out_master if out_master is not None else proc.stdout.fileno()] = bytearray()
    open_fds = list(streams)
    while open_fds:
        ready, _, _ = select.select(open_fds, [], [], 120)
        assert ready, "patchlint went quiet for two minutes"
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # a pseudo-terminal whose other end closed
                data = b""
            if data:
                streams[fd] += data
            else:
                open_fds.remove(fd)
    code = proc.wait(timeout=120)
    out = bytes(streams[out_master if out_master is not None else proc.stdout.fileno()])
    # a terminal turns "\n" into "\r\n"; the bytes patchlint wrote are what is compared
    return code, out.replace(b"\r\n", b"\n"), bytes(streams[err_master])


RFC = ["check", "--tree", str(TREE), str(SERIES / "storage-key-rfc.mbox")]


def test_progress_is_drawn_on_a_terminal_and_the_report_is_unchanged():
    code, out, err = on_terminal("scan", "--no-model", "--jobs", "2", "--tree", str(TREE), "mm")
    plain = run_patchlint("scan", "--no-model", "--jobs", "2", "--tree", str(TREE), "mm")
    assert code == plain.returncode and out == plain.stdout  # the report: the same bytes
    assert plain.stderr == b""  # no terminal, no progress
    text = err.decode()
    assert "patchlint: scanning 8 files" in text
    # the status line (which of the workers' counts are drawn depends on the clock: the test
    # below shows they arrive while the workers work), its last state, and its clearing
    assert "patchlint: 2 workers done" in text
    # rich clears its transient line before the report; then the scan's summary, last
    assert "\x1b[2K" in text
    assert "peak memory:" in text.rstrip("\r\n").splitlines()[-1]


def test_colour_only_on_a_terminal():
    code, coloured, _ = on_terminal(*RFC, "--no-model", stdout_tty=True)
    plain = run_patchlint(*RFC, "--no-model")
    assert code == plain.returncode == 1
    assert b"\x1b[31mERROR:" in coloured and b"\x1b[" not in plain.stdout
    # NO_COLOR on a terminal; FORCE_COLOR does not colour a report written to a pipe
    _, no_color, _ = on_terminal(*RFC, "--no-model", stdout_tty=True, env={"NO_COLOR": "1"})
    assert no_color == plain.stdout
    forced = run_patchlint(*RFC, "--no-model", env={**os.environ, "FORCE_COLOR": "1"})
    assert forced.stdout == plain.stdout
    # --quiet: no progress even on a terminal
    _, _, err = on_terminal(*RFC, "--no-model", "--quiet")
    assert err == b""


def test_an_error_on_a_terminal_is_one_line_with_a_red_prefix():
    code, _, err = on_terminal("show", ":fire:[bold]no-such.mbox")
    assert code == 2
    text = err.decode()
    assert text.count("\n") == 1 and "\x1b[1;31mpatchlint:" in text
    assert ":fire:[bold]no-such.mbox: no such file" in text  # the name as given: no emoji, no markup


def test_parallel_scan_progress_counts_every_root_and_changes_no_finding():
    from patchlint.analysis import functions_under, tree_index
    from patchlint.checks.tree import _local_roots, scan
    from patchlint.workflow.config import load_config

    index = tree_index(str(TREE), None, load_config(str(TREE), {"model": False}))
    functions = functions_under(index, ["mm"], "scanning")
    heard: list[str] = []
    found, _ = scan(index, functions, jobs=2, progress=heard.append)
    assert found == scan(index, functions, jobs=2)[0]
    counts = [m for m in heard if "root functions" in m]
    assert counts and heard[-1] == "2 workers done" and heard.index(counts[-1]) < len(heard) - 1
    # the workers' roots add up: each walked every root of its share of the files
    by_file: dict[str, list] = {}
    for f in functions:
        by_file.setdefault(f.file, []).append(f)
    files = sorted(by_file)
    shares = [[f for path in files[i::2] for f in by_file[path]] for i in range(2)]
    total = sum(len(_local_roots(share)) for share in shares)
    assert counts[-1] == f"{total}/{total} root functions walked, checking (2 workers)"


FLAG = Path(os.environ.get("TMPDIR", "/tmp")) / f"patchlint-progress-heard-{os.getpid()}"


def waiting_chunk(index, functions, slot):
    """A scan worker that says it has started, then waits until the parent has shown that
    (or 30 s): a parent that showed progress only at the end would keep it waiting."""
    import time

    from patchlint.checks import tree

    tree._PROGRESS_QUEUE.put((slot, 0, len(functions)))
    deadline = time.monotonic() + 30
    while not FLAG.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return []


def test_parallel_progress_is_shown_while_the_workers_work(monkeypatch):
    import time

    from patchlint.analysis import functions_under, tree_index
    from patchlint.checks import tree
    from patchlint.workflow.config import load_config

    index = tree_index(str(TREE), None, load_config(str(TREE), {"model": False}))
    functions = functions_under(index, ["mm"], "scanning")
    monkeypatch.setattr(tree, "_scan_chunk", waiting_chunk)
    FLAG.unlink(missing_ok=True)

    def heard(message: str) -> None:
        if "root functions" in message:
            FLAG.touch()

    start = time.monotonic()
    try:
        tree.scan(index, functions, jobs=2, progress=heard)
    finally:
        FLAG.unlink(missing_ok=True)
    assert time.monotonic() - start < 20


def test_the_svg_of_locks_has_a_legend_and_the_dot_file_does_not(tmp_path: Path):
    from patchlint.report.tree import render_dot

    dot, svg = tmp_path / "locks.dot", tmp_path / "locks.svg"
    args = ["locks", "--tree", str(TREE), "--dot", str(dot), "mm"]
    has_dot = subprocess.run(["sh", "-c", "command -v dot"], capture_output=True).returncode == 0
    proc = run_patchlint(*args, *(["--svg", str(svg)] if has_dot else []))
    assert proc.returncode == 0, proc.stderr
    assert "cluster_legend" not in dot.read_text()  # DOT is data for programs: the graph alone
    from patchlint.checks.tree import LockGraph

    legend = render_dot(LockGraph(functions=0), legend=True)
    for meaning in ("f() takes B holding A", "in a cycle: possible deadlock", "spins on trylock of B holding A"):
        assert meaning in legend
    assert '"@held"' in legend  # C lock names never hold "@": the key never merges with the graph
    if not has_dot:
        pytest.skip("Graphviz's dot is not installed: the SVG itself is not drawn here")
    drawn = svg.read_text()
    assert "<svg" in drawn and "legend" in drawn and "possible deadlock" in drawn
