"""The sendemail-validate hook: `patchlint hook install/uninstall`, and the hook run by the real
git send-email (Debian's git-email; --dry-run, nothing is sent) on a failing and a clean series,
and, for git 2.41's counters, the hook run directly as git would run it for each mail."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from patchlint.workflow.base import made_on
from patchlint.workflow.hook import HOOK, MARKER, SAVED_SUFFIX
from patchlint.workflow.sendemail import Plan

from .conftest import GIT_ENV, SERIES, git

FROM = "Fixture Author <fixture@example.org>"


def patchlint(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "patchlint", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def hook_path(repo: Path) -> Path:
    return repo / ".git" / "hooks" / HOOK


def env_for(repo: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return env | GIT_ENV | {"HOME": str(repo.parent)} | extra


@pytest.fixture
def send_email(tree_repo: Path):
    """Run the real `git send-email --dry-run` in the repository; skip where git-email is missing."""
    probe = subprocess.run(["git", "send-email", "-h"], capture_output=True, text=True)
    if "send-email" not in probe.stdout + probe.stderr or "is not a git command" in probe.stderr:
        pytest.skip("git send-email is not installed (Debian: apt-get install git-email)")

    def run(*files: Path | str) -> subprocess.CompletedProcess:
        # --dry-run does everything but send; --smtp-server names a script that would fail the test
        # loudly if git ever tried to hand it a mail.
        trap = tree_repo.parent / "smtp-trap"
        trap.write_text("#!/bin/sh\necho 'mail reached the SMTP stand-in' >&2\nexit 97\n")
        trap.chmod(0o755)
        return subprocess.run(
            ["git", "send-email", "--dry-run", "--confirm=never", "--to=x@example.org", f"--from={FROM}",
             f"--smtp-server={trap}", "--8bit-encoding=UTF-8", "--suppress-cc=all", *map(str, files)],
            cwd=tree_repo, capture_output=True, text=True, env=env_for(tree_repo), timeout=300)

    return run


def format_patch(repo: Path, out: Path, *args: str) -> list[Path]:
    names = git(repo, "format-patch", "-q", "-o", str(out), *args).split()
    return sorted(out.glob("*.patch")) if not names else [Path(n) for n in names]


def am(repo: Path, *mails: Path) -> None:
    git(repo, "am", "-q", *map(str, mails))


# ---------------------------------------------------------------- install / uninstall

def test_install_is_idempotent_and_uninstall_removes_only_its_own(tree_repo):
    proc = patchlint("hook", "install", "--tree", str(tree_repo), cwd=tree_repo.parent)
    assert proc.returncode == 0, proc.stderr
    path = hook_path(tree_repo)
    assert path.read_text().splitlines()[1] == MARKER and os.access(path, os.X_OK)
    assert "installed" in proc.stderr
    again = patchlint("hook", "install", cwd=tree_repo)
    assert again.returncode == 0 and "already patchlint's hook; nothing to do" in again.stderr
    removed = patchlint("hook", "uninstall", cwd=tree_repo)
    assert removed.returncode == 0 and not path.exists()
    absent = patchlint("hook", "uninstall", cwd=tree_repo)
    assert absent.returncode == 0 and "nothing to do" in absent.stderr


def test_install_refuses_a_different_hook_unless_forced(tree_repo):
    path = hook_path(tree_repo)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n# the developer's own checks\nexit 0\n")
    path.chmod(0o755)
    proc = patchlint("hook", "install", cwd=tree_repo)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "a different sendemail-validate hook is already installed" in proc.stderr and "--force" in proc.stderr
    assert "the developer's own checks" in path.read_text()
    refused = patchlint("hook", "uninstall", cwd=tree_repo)
    assert refused.returncode == 2 and "is not patchlint's hook" in refused.stderr and path.exists()
    forced = patchlint("hook", "install", "--force", cwd=tree_repo)
    assert forced.returncode == 0, forced.stderr
    assert MARKER in path.read_text()
    saved = path.with_name(HOOK + SAVED_SUFFIX)
    assert "the developer's own checks" in saved.read_text()
    removed = patchlint("hook", "uninstall", cwd=tree_repo)
    assert removed.returncode == 0 and not path.exists() and saved.exists() and str(saved.name) in removed.stderr


def test_install_follows_core_hookspath(tree_repo):
    git(tree_repo, "config", "core.hooksPath", "my-hooks")
    assert patchlint("hook", "install", cwd=tree_repo).returncode == 0
    assert (tree_repo / "my-hooks" / HOOK).is_file() and not hook_path(tree_repo).exists()


def test_install_outside_a_repository_is_exit_2(tmp_path):
    proc = patchlint("hook", "install", "--tree", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr == f"patchlint: {tmp_path}: not a git repository; give the " \
                                                   "kernel tree's git checkout with --tree DIR\n"


# ---------------------------------------------------------------- the real git send-email (2.39 here)

def test_send_email_aborts_on_a_failing_series(tree_repo, send_email, tmp_path):
    am(tree_repo, SERIES / "storage-key-rfc.mbox")  # introduces a lock-order inversion
    mails = format_patch(tree_repo, tmp_path / "out", "-1")
    assert patchlint("hook", "install", cwd=tree_repo).returncode == 0
    proc = send_email(*mails)
    assert proc.returncode != 0
    hook = hook_output(proc.stderr)  # git runs hooks with their stdout on stderr
    assert hook[0] == "[PATCH] s390: mm: rmap: Transfer storage key to struct page under the page lock"
    assert any(": ERROR: LOCK_ORDER_INVERSION: " in line for line in hook)
    assert hook[-1].startswith("patchlint: [PATCH] fails the check (fail-on = new): ")
    assert "rejected by sendemail-validate hook" in proc.stderr and "no patches were sent" in proc.stderr
    assert "Dry-OK" not in proc.stdout + proc.stderr and "SMTP stand-in" not in proc.stderr


def test_send_email_aborts_on_a_patch_that_does_not_apply(tree_repo, send_email, tmp_path):
    mail = tmp_path / "0001-stale.patch"
    text = sorted((SERIES / "three-patches").glob("0001-*.patch"))[0].read_text()
    lines = text.splitlines(keepends=True)
    context = next(i for i, line in enumerate(lines) if line.startswith(" ") and line.strip() and i > 20)
    lines[context] = " " + lines[context][1:].rstrip("\n") + " /* edited since */\n"
    mail.write_text("".join(lines))
    assert patchlint("hook", "install", cwd=tree_repo).returncode == 0
    proc = send_email(mail)
    assert proc.returncode != 0
    assert ": ERROR: ANALYSIS_INCOMPLETE: patch 1 does not apply" in proc.stderr
    assert "rejected by sendemail-validate hook" in proc.stderr


def test_send_email_proceeds_silently_on_a_clean_series(tree_repo, send_email, tmp_path):
    am(tree_repo, *sorted((SERIES / "three-patches").glob("000[123]-*.patch")))
    mails = format_patch(tree_repo, tmp_path / "out", "--cover-letter", "-3")
    assert len(mails) == 4
    cover = mails[0].read_text().replace("*** SUBJECT HERE ***", "mm: small clean-ups")
    mails[0].write_text(cover.replace("*** BLURB HERE ***", "Three small clean-ups."))
    assert patchlint("hook", "install", cwd=tree_repo).returncode == 0
    proc = send_email(tmp_path / "out")  # the directory, as people send a series
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("Dry-OK. Log says:") == 4  # every mail, the cover letter too, went through
    # patch 1 touches reclaim, whose race with zap already BUGs in this tree (an existing error):
    # not the series' doing, so not a word of it, nor a total counting it
    assert hook_output(proc.stderr) == []
    assert "KERNEL_BUG" not in proc.stderr and "total:" not in proc.stderr
    assert "SMTP stand-in" not in proc.stderr


def split_rfc(repo: Path) -> tuple[str, str]:
    """The storage-key RFC as two commits: 1 adds page_remove_rmap_nolock() and its trylock spin
    (called by nobody), 2 makes zap_pte_range() call it under the PTL.  Only together are they
    the inversion against reclaim; patch 2 alone calls a function the tree does not have."""
    am(repo, SERIES / "storage-key-rfc.mbox")
    git(repo, "reset", "-q", "HEAD~1")
    git(repo, "add", "include/linux/rmap.h", "mm/rmap.c")
    git(repo, "commit", "-q", "-m", "mm: rmap: add page_remove_rmap_nolock()")
    git(repo, "add", "mm/memory.c")
    git(repo, "commit", "-q", "-m", "mm: memory: zap ptes with page_remove_rmap_nolock()")
    first, second = git(repo, "rev-list", "-2", "HEAD").split()[::-1]
    return first, second


def fail_on_new_errors(repo: Path) -> None:
    """Patch 1 of the split RFC alone brings a warning (its set_page_dirty() moved): the tests
    about patch 2 fail on new errors only."""
    (repo / ".patchlint.toml").write_text('fail-on = "new-error"\n')
    git(repo, "add", ".patchlint.toml")
    git(repo, "commit", "-q", "-m", "patchlint: fail on new errors")


def test_on_git_2_39_a_mail_is_checked_in_its_format_patch_directory(tree_repo, send_email, tmp_path):
    """git 2.39 gives the hook the mail's path and nothing else.  The series was made in another
    clone (its commits are not in this repository), so nothing says where patch 2 was made
    but the directory it sits in with patch 1."""
    fail_on_new_errors(tree_repo)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(tree_repo), str(clone))
    split_rfc(clone)
    mails = format_patch(clone, tmp_path / "out", "--cover-letter", "-2")
    assert [m.name[:4] for m in mails] == ["0000", "0001", "0002"]
    # patch 2 checked on its own sees no hazard: the function it calls is not in the tree
    alone = patchlint("check", "--format", "terse", str(mails[2]), cwd=tree_repo)
    assert alone.returncode == 0 and "LOCK_ORDER_INVERSION" not in alone.stdout, alone.stdout
    assert patchlint("hook", "install", cwd=tree_repo).returncode == 0
    proc = send_email(tmp_path / "out")
    assert proc.returncode != 0
    hook = hook_output(proc.stderr)
    assert hook[0] == "[PATCH 2/2] mm: memory: zap ptes with page_remove_rmap_nolock()", proc.stderr
    assert any(line.startswith("mm/rmap.c:77: ERROR: LOCK_ORDER_INVERSION: ") for line in hook)
    assert hook[-1].startswith("patchlint: [PATCH 2/2] fails the check (fail-on = new-error): ")
    assert f"{mails[2].name}: rejected by sendemail-validate hook" in proc.stderr
    # patch 1 sent alone from the same directory is judged alone: its neighbour does not hold it back
    one = send_email(mails[1])
    assert one.returncode == 0 and hook_output(one.stderr) == [], one.stderr
    assert one.stdout.count("Dry-OK. Log says:") == 1


def test_on_git_2_39_revisions_given_to_send_email_are_one_series(tree_repo, send_email):
    """git send-email given revisions runs git format-patch into a temporary directory and
    validates its files: the same directory rule finds the series."""
    fail_on_new_errors(tree_repo)
    split_rfc(tree_repo)
    assert patchlint("hook", "install", cwd=tree_repo).returncode == 0
    proc = send_email("-2")
    assert proc.returncode != 0
    hook = hook_output(proc.stderr)
    assert hook[0] == "[PATCH 2/2] mm: memory: zap ptes with page_remove_rmap_nolock()", proc.stderr
    assert any(": ERROR: LOCK_ORDER_INVERSION: " in line for line in hook)
    assert "0002-mm-memory-zap-ptes-with-page_remove_rmap_nolock.patch: rejected by sendemail-validate" \
        in proc.stderr


def hook_output(stderr: str) -> list[str]:
    """The hook's lines among git send-email's: the patch headers, terse lines and summary."""
    return [line for line in stderr.splitlines()
            if line.startswith(("[", "patchlint")) or re.match(r"^\S+:\d+: (ERROR|WARNING|CHECK): ", line)]


# ---------------------------------------------------------------- the series beside a mail

def test_the_series_beside_a_mail_is_the_one_format_patch_wrote(tree_repo, tmp_path):
    from patchlint.workflow.sendemail import plan

    first, second = split_rfc(tree_repo)
    out = tmp_path / "out"
    cover, one, two = format_patch(tree_repo, out, "--cover-letter", "-2")
    assert plan(cover, {}, tree_repo) is None  # the cover letter: nothing to check
    assert plan(two, {}, tree_repo) == Plan((one, two), two)
    assert plan(one, {}, tree_repo) == Plan((one, two), one)  # patch 1 checked with what follows it
    # a v2 of the series in the same directory is another series
    format_patch(tree_repo, out, "-v2", "-2")
    v2 = sorted(out.glob("v2-*.patch"))
    assert len(v2) == 2 and plan(v2[1], {}, tree_repo).files == tuple(v2)
    assert plan(two, {}, tree_repo).files == (one, two)
    # a stale [PATCH 1/2] of another run: the repository says which commit patch 2 was made on
    stale = out / "0001-stale.patch"
    stale.write_text(one.read_text().replace(first, second).replace("add page_remove_rmap_nolock", "stale"))
    assert plan(two, {}, tree_repo).files == (one, two)
    # without the commits (mailed from elsewhere), two candidates for patch 1 cannot be told apart
    for path in (one, two, stale):
        path.write_text(re.sub(r"^From [0-9a-f]{40} ", "From " + "0" * 40 + " ", path.read_text()))
    assert plan(two, {}, tree_repo).files == (two,)
    stale.unlink()
    assert plan(two, {}, tree_repo).files == (one, two)
    one.unlink()  # patch 1 missing: patch 2 is checked as it is
    assert plan(two, {}, tree_repo).files == (two,)
    # a mail without n/N, or not a mail at all: itself
    rfc = SERIES / "storage-key-rfc.mbox"
    assert plan(rfc, {}, tree_repo) == Plan((rfc,), None)
    junk = tmp_path / "notes.txt"
    junk.write_text("just some text\n")
    assert plan(junk, {}, tree_repo) == Plan((junk,), None)


# ---------------------------------------------------------------- git 2.41+: counters and $2

def run_hook(repo: Path, mail: Path, counter: int | None, total: int | None) -> subprocess.CompletedProcess:
    extra = {} if counter is None else {"GIT_SENDEMAIL_FILE_COUNTER": str(counter),
                                        "GIT_SENDEMAIL_FILE_TOTAL": str(total)}
    headers = repo.parent / "smtp-headers"
    headers.write_text(f"From: {FROM}\nTo: x@example.org\n")
    # as git runs it: from the top of the work tree, with GIT_DIR set, $1 the mail and $2 the headers
    return subprocess.run([str(hook_path(repo)), str(mail), str(headers)], cwd=repo, capture_output=True,
                          text=True, env=env_for(repo, GIT_DIR=str(repo / ".git"), **extra), timeout=300)


def test_counters_collect_the_series_and_check_it_at_the_last_mail(tree_repo, tmp_path):
    am(tree_repo, *sorted((SERIES / "three-patches").glob("000[123]-*.patch")), SERIES / "storage-key-rfc.mbox")
    mails = format_patch(tree_repo, tmp_path / "out", "--cover-letter", "-4")
    # the mails of one run need not share a directory: one of them is sent from elsewhere
    moved = tmp_path / "elsewhere" / mails[2].name
    moved.parent.mkdir()
    mails[2] = mails[2].replace(moved)
    assert patchlint("hook", "install", cwd=tree_repo).returncode == 0
    collected = Path(git(tree_repo, "rev-parse", "--git-path", "patchlint-sendemail").strip())
    collected = collected if collected.is_absolute() else tree_repo / collected
    for n, mail in enumerate(mails[:-1], 1):
        proc = run_hook(tree_repo, mail, n, len(mails))
        assert proc.returncode == 0 and proc.stdout == "", proc.stderr  # nothing checked before the last
        assert len(list(collected.glob("*.eml"))) == n
    last = run_hook(tree_repo, mails[-1], len(mails), len(mails))
    assert last.returncode == 1, last.stderr
    out = last.stdout.splitlines()
    # what fails: the RFC's findings at patch 4, whose tree has the three patches applied; not the
    # tree's own BUG (existing, at patch 1), and no total counting it
    assert out[0] == "[PATCH 4/4] s390: mm: rmap: Transfer storage key to struct page under the page lock"
    assert any(": ERROR: LOCK_ORDER_INVERSION: " in line for line in out)
    assert out[-1].startswith("patchlint: [PATCH 4/4] fails the check (fail-on = new): ")
    assert "KERNEL_BUG" not in last.stdout and "total:" not in last.stdout and "[PATCH 1/4]" not in last.stdout
    assert not collected.exists()


def test_counters_restart_a_run_left_behind(tree_repo, tmp_path):
    am(tree_repo, *sorted((SERIES / "three-patches").glob("000[123]-*.patch")))
    mails = format_patch(tree_repo, tmp_path / "out", "-3")
    assert patchlint("hook", "install", cwd=tree_repo).returncode == 0
    assert run_hook(tree_repo, SERIES / "storage-key-rfc.mbox", 1, 9).returncode == 0  # an aborted run
    for n, mail in enumerate(mails, 1):
        proc = run_hook(tree_repo, mail, n, len(mails))
    # the clean series alone: it passes, and a passing series prints nothing
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr


def test_without_counters_the_cover_letter_is_skipped_and_a_patch_checked_in_its_directory(tree_repo, tmp_path):
    am(tree_repo, *sorted((SERIES / "three-patches").glob("000[123]-*.patch")))
    mails = format_patch(tree_repo, tmp_path / "out", "--cover-letter", "-3")
    assert patchlint("hook", "install", cwd=tree_repo).returncode == 0
    cover = run_hook(tree_repo, mails[0], None, None)
    assert cover.returncode == 0 and cover.stdout == ""
    second = run_hook(tree_repo, mails[2], None, None)
    assert second.returncode == 0 and second.stdout == "", second.stdout + second.stderr


def test_the_hook_passes_a_mail_without_a_patch_and_refuses_a_missing_file(tree_repo, tmp_path):
    assert patchlint("hook", "install", cwd=tree_repo).returncode == 0
    note = tmp_path / "announce.eml"
    note.write_text(f"From: {FROM}\nSubject: [ANNOUNCE] a talk about locking\n\nNo patch here.\n")
    proc = run_hook(tree_repo, note, None, None)
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == ""
    missing = run_hook(tree_repo, tmp_path / "gone.patch", None, None)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no such mail file" in missing.stderr


# ---------------------------------------------------------------- which revision a mailed patch is checked on

def test_a_mail_made_here_is_checked_on_the_commit_it_was_made_on(tree_repo, tmp_path):
    from patchlint.ingest import read_series

    am(tree_repo, *sorted((SERIES / "three-patches").glob("000[123]-*.patch")))
    mails = format_patch(tree_repo, tmp_path / "out", "-3")
    heads = git(tree_repo, "rev-list", "--reverse", "HEAD").split()
    # the mbox From line names the commit: its parent
    assert made_on(str(tree_repo), read_series([str(mails[2])])) == heads[2]
    # without it (b4 sends no From line), the same patch id found in HEAD's history
    stripped = tmp_path / "stripped.patch"
    stripped.write_text("".join(mails[1].read_text().splitlines(keepends=True)[1:]))
    assert made_on(str(tree_repo), read_series([str(stripped)])) == heads[1]
    # a patch that was not made here: no opinion, the usual rules apply
    assert made_on(str(tree_repo), read_series([str(SERIES / "storage-key-rfc.mbox")])) is None
    shutil.rmtree(tree_repo / ".git")
    assert made_on(str(tree_repo), read_series([str(stripped)])) is None


# ---------------------------------------------------------------- what the hook prints

def test_a_series_mbox_sent_as_one_file_is_judged_whole(tree_repo, tmp_path):
    fail_on_new_errors(tree_repo)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(tree_repo), str(clone))
    split_rfc(clone)
    mbox = tmp_path / "series.mbox"
    mbox.write_text(git(clone, "format-patch", "--stdout", "-2"))
    assert patchlint("hook", "install", cwd=tree_repo).returncode == 0
    proc = run_hook(tree_repo, mbox, None, None)
    assert proc.returncode == 1 and proc.stdout.startswith("[PATCH 2/2] "), proc.stdout + proc.stderr


def test_the_gate_output_names_the_failing_patches_and_says_nothing_else():
    from patchlint.report.gate import render_gate

    def finding(patch: int, status: str, severity: str, kind: str = "spin-on-trylock") -> dict:
        return {"kind": kind, "status": status, "severity": severity, "patch": patch, "file": "mm/rmap.c",
                "line": 10 * patch, "message": f"m{patch}", "site": None}

    doc = {"patches": [{"index": n, "tag": f"[PATCH {n}/3]", "subject": f"s{n}", "source": f"{n}.patch",
                        "input_line": 1} for n in (1, 2, 3)],
           "findings": [finding(1, "existing", "error", "kernel-bug"), finding(2, "new", "error"),
                        finding(2, "new", "check"), finding(3, "new", "warning"), finding(3, "fixed", "error")]}
    assert render_gate(doc, "new", {1}) == ("", False)  # patch 1's only finding is the tree's own
    out, failed = render_gate(doc, "new", {2})
    assert failed and out.splitlines() == [
        "[PATCH 2/3] s2",
        "mm/rmap.c:20: ERROR: SPIN_ON_TRYLOCK: m2",
        "patchlint: [PATCH 2/3] fails the check (fail-on = new): 1 error; [PATCH 3/3] fails too; "
        "`patchlint check` on the series shows why"]
    out, failed = render_gate(doc, "new-error", None)  # the whole run (git 2.41+): every failing patch
    assert failed and out.splitlines()[-1].startswith("patchlint: [PATCH 2/3] fails the check (fail-on = new-error)")
    out, _ = render_gate(doc, "any", None)
    assert "[PATCH 1/3] s1" in out and "[PATCH 1/3], [PATCH 2/3] and [PATCH 3/3] fail the check" in out
    assert "m3" in out and out.count("mm/rmap.c:30:") == 1  # the fixed finding is no failure
    assert render_gate(doc, "never", None) == ("", False)
