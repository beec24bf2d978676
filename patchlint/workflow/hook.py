"""git send-email's sendemail-validate hook: install, uninstall, and the script itself.

git send-email runs `.git/hooks/sendemail-validate` for every mail before it
sends any, and aborts the whole send when the hook exits non-zero.  The script
is a few lines of shell that hand the mail to `patchlint hook validate`
(through the interpreter patchlint was installed with); which series a mail is
checked in, on git 2.41+ and on older git alike, is patchlint.workflow.sendemail's
to say.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from patchlint.errors import PatchlintError

HOOK = "sendemail-validate"
MARKER = "# patchlint: sendemail-validate hook"
SAVED_SUFFIX = ".patchlint-saved"

_SCRIPT = r"""#!/bin/sh
{marker}
# Written by `patchlint hook install`; `patchlint hook uninstall` removes it.
#
# git send-email runs this for every mail before it sends any, and a non-zero
# exit aborts the send (`git send-email --no-validate` skips it).  $1 is the
# mail (git 2.41+ also passes $2 and sets GIT_SENDEMAIL_FILE_COUNTER/_TOTAL).
# `patchlint hook validate` checks the mail in its series -- the mails of this
# run (git 2.41+), or of the git format-patch directory it comes from -- and
# prints only what fails the check: nothing when the mail may go.

if [ -x {python} ]; then
	exec {python} -m patchlint hook validate{options} -- "$@"
fi
exec patchlint hook validate{options} -- "$@"
"""


@dataclass(frozen=True)
class HookResult:
    path: Path
    action: str  # installed | unchanged | updated | replaced | removed | absent
    saved: Path | None = None


def hooks_dir(tree_dir: str | None) -> Path:
    """The repository's hooks directory (honours core.hooksPath), as git itself resolves it."""
    top = Path(tree_dir or ".")
    name = tree_dir or "."
    if not top.is_dir():
        raise PatchlintError(name, "no such directory", None, "give the kernel tree's git checkout with --tree DIR")
    try:
        proc = subprocess.run(["git", "-C", str(top), "rev-parse", "--git-path", "hooks"], capture_output=True,
                              text=True, timeout=60)
    except OSError as exc:
        raise PatchlintError("git", f"cannot run git: {exc.strerror}", None, "install git") from None
    if proc.returncode != 0:
        raise PatchlintError(name, "not a git repository", None, "give the kernel tree's git checkout with --tree DIR")
    path = Path(proc.stdout.strip())
    return path if path.is_absolute() else top / path


def hook_script(python: str | None = None, options: tuple[str, ...] = ()) -> str:
    """The hook, calling patchlint through the interpreter it was installed with (falling back to
    `patchlint` on PATH if that interpreter goes away)."""
    opts = "".join(" " + shlex.quote(o) for o in options)
    return _SCRIPT.format(marker=MARKER, python=shlex.quote(python or sys.executable), options=opts)


def is_ours(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace").splitlines()[:3]
    except OSError:
        return False
    return MARKER in head


def install(tree_dir: str | None, force: bool = False, script: str | None = None) -> HookResult:
    path = hooks_dir(tree_dir) / HOOK
    script = script or hook_script()
    saved = None
    if path.exists() or path.is_symlink():
        if is_ours(path):
            if path.read_text(encoding="utf-8", errors="replace") == script and _executable(path):
                return HookResult(path, "unchanged")
            action = "updated"
        elif not force:
            raise PatchlintError(str(path), "a different sendemail-validate hook is already installed", None,
                                 f"patchlint hook install --force replaces it (keeping it as {HOOK}{SAVED_SUFFIX})")
        else:
            saved = path.with_name(HOOK + SAVED_SUFFIX)
            try:
                path.replace(saved)
            except OSError as exc:
                raise PatchlintError(str(path), f"cannot keep the existing hook as {saved.name}: {exc.strerror}",
                                     None, "check the permissions of the hooks directory") from None
            action = "replaced"
    else:
        action = "installed"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{HOOK}.patchlint-tmp")
        tmp.write_text(script, encoding="utf-8")
        tmp.chmod(0o755)
        tmp.replace(path)
    except OSError as exc:
        raise PatchlintError(str(path), f"cannot write the hook: {exc.strerror}", None,
                             "check the permissions of the hooks directory") from None
    return HookResult(path, action, saved)


def uninstall(tree_dir: str | None) -> HookResult:
    path = hooks_dir(tree_dir) / HOOK
    if not (path.exists() or path.is_symlink()):
        return HookResult(path, "absent")
    if not is_ours(path):
        raise PatchlintError(str(path), "is not patchlint's hook, so it is left in place", None,
                             "remove it yourself if you mean to")
    try:
        path.unlink()
    except OSError as exc:
        raise PatchlintError(str(path), f"cannot remove the hook: {exc.strerror}", None,
                             "check the permissions of the hooks directory") from None
    saved = path.with_name(HOOK + SAVED_SUFFIX)
    return HookResult(path, "removed", saved if saved.exists() else None)


def _executable(path: Path) -> bool:
    return bool(path.stat().st_mode & 0o111)


def describe(result: HookResult) -> str:
    what = {
        "installed": f"installed {result.path}",
        "unchanged": f"{result.path} is already patchlint's hook; nothing to do",
        "updated": f"updated patchlint's hook {result.path}",
        "replaced": f"replaced {result.path}; the previous hook is kept as {result.saved}",
        "removed": f"removed {result.path}",
        "absent": f"no hook at {result.path}; nothing to do",
    }[result.action]
    if result.action == "removed" and result.saved is not None:
        what += f" (the hook it replaced is still at {result.saved}; rename it back to use it)"
    return what
