"""The command line.  Commands parse arguments and call library code; the
report goes to stdout, notes and errors to stderr, and errors are rendered
here and only here: one line, exit status 2, never a traceback."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from typing import Annotated

import typer

from patchlint import __version__
from patchlint.checks import analyse_series, fails
from patchlint.cparse.cache import SummaryCache
from patchlint.cparse.index import FunctionIndex
from patchlint.cparse.profile import load_profile
from patchlint.cparse.survey import c_files, compare_with_bare, survey
from patchlint.errors import PatchlintError
from patchlint.ingest import read_series
from patchlint.ingest.gitrange import read_range
from patchlint.report.check_text import render_check_text
from patchlint.report.doctor import render_doctor
from patchlint.report.document import document, render_json
from patchlint.report.show import render_show_text
from patchlint.source.apply import apply_series
from patchlint.source.findings import apply_findings
from patchlint.source.tree import open_tree

EXIT_USAGE = 2

app = typer.Typer(
    name="patchlint",
    help="Find locking hazards and races in Linux kernel patch series before they are sent.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class ShowFormat(StrEnum):
    text = "text"
    json = "json"


class CheckFormat(StrEnum):
    text = "text"
    json = "json"


class FailOn(StrEnum):
    new_error = "new-error"
    new = "new"
    any = "any"
    never = "never"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"patchlint {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """patchlint reads a patch series, applies it in memory to a kernel tree and
    reports what it introduces, fixes or leaves.  Exit status: 0 clean, 1 findings
    at or above the failing level, 2 a usage or input error (one line on stderr)."""


SeriesArg = Annotated[list[str] | None, typer.Argument(
    help="mbox, .patch/.diff file, git format-patch directory, or - for standard input.", show_default=False)]
TreeOpt = Annotated[str | None, typer.Option("--tree", help="Kernel tree: a directory or git repository "
                                             "(default: the current directory).", show_default=False)]
BaseOpt = Annotated[str | None, typer.Option("--base", help="Revision of the --tree repository to apply to "
                                             "(default: the series' base-commit if the tree has it, else HEAD).",
                                             show_default=False)]
RangeOpt = Annotated[str | None, typer.Option("--range", help="A..B in the --tree repository: each non-merge "
                                              "commit is one patch, applied to A.", show_default=False)]
LenientOpt = Annotated[bool, typer.Option("--lenient", help="Recover whitespace-damaged patches (as web archives "
                                          "render mail) by locating removed lines in the tree; recovered hunks "
                                          "are flagged.")]


@app.command()
def check(
    series: SeriesArg = None,
    range_: RangeOpt = None,
    tree: TreeOpt = None,
    base: BaseOpt = None,
    lenient: LenientOpt = False,
    fmt: Annotated[CheckFormat, typer.Option("--format", help="Output format.")] = CheckFormat.text,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Which findings make the exit status 1: new errors, "
                                            "new errors and warnings (default), any finding, or never.")
                       ] = FailOn.new,
) -> None:
    """Check a series: apply it in memory and report, per patch, the findings it
    introduces (new), removes (fixed) or leaves (existing)."""
    parsed, kernel = _load(series, range_, tree, base, lenient)
    applied = apply_series(kernel, parsed)
    findings = analyse_series(applied)
    _notes(parsed)
    doc = document(parsed, applied, findings, kernel.describe())
    sys.stdout.write(render_json(doc) if fmt is CheckFormat.json else render_check_text(doc))
    if fails(findings, fail_on.value):
        raise typer.Exit(1)


def _load(series: list[str] | None, range_: str | None, tree: str | None, base: str | None, lenient: bool):
    """The series and the tree it applies to, for commands that need both."""
    if range_ and series:
        raise PatchlintError("--range", "give either series files or --range, not both", None, None)
    if range_:
        parsed, base_sha = read_range(tree or ".", range_, lenient=lenient)
        return parsed, open_tree(tree, base_sha)
    if not series:
        raise PatchlintError("patchlint", "no series given", None,
                             "give an mbox or patch file, a format-patch directory, - for stdin, or --range A..B")
    parsed = read_series(series, lenient=lenient)
    return parsed, open_tree(tree, base, parsed.base_commit)


def _notes(parsed) -> None:
    for note in parsed.notes:
        where = f"{note.source}:{note.line}" if note.line else note.source
        typer.echo(f"patchlint: note: {where}: {note.message}", err=True)


@app.command()
def show(
    series: SeriesArg = None,
    range_: RangeOpt = None,
    tree: TreeOpt = None,
    base: BaseOpt = None,
    lenient: LenientOpt = False,
    fmt: Annotated[ShowFormat, typer.Option("--format", help="Output format.")] = ShowFormat.text,
) -> None:
    """Show the series as patchlint reads it: patches, files, hunks, the functions each
    hunk touches, and whether and where each hunk applies to the tree."""
    if range_ and series:
        raise PatchlintError("--range", "give either series files or --range, not both", None, None)
    if range_:
        parsed, base_sha = read_range(tree or ".", range_, lenient=lenient)
        kernel = open_tree(tree, base_sha)
    else:
        if not series:
            raise PatchlintError("patchlint show", "no series given", None,
                                 "give an mbox or patch file, a format-patch directory, - for stdin, or --range A..B")
        parsed = read_series(series, lenient=lenient)
        kernel = _tree_for(tree, base, parsed.base_commit, lenient)
    applied = apply_series(kernel, parsed) if kernel is not None else None
    findings = apply_findings(applied) if applied is not None else []
    _notes(parsed)
    doc = document(parsed, applied, findings, kernel.describe() if kernel is not None else None)
    sys.stdout.write(render_json(doc) if fmt is ShowFormat.json else render_show_text(doc))


@app.command()
def doctor(
    paths: Annotated[list[str] | None, typer.Argument(help="Files or directories of the tree (default: all of it).",
                                                      show_default=False)] = None,
    tree: TreeOpt = None,
    base: BaseOpt = None,
    profile: Annotated[str | None, typer.Option("--profile", help="Configuration profile from "
                                                "grammars/profiles.toml (default: s390).", show_default=False)] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the summary cache.")] = False,
    compare: Annotated[bool, typer.Option("--compare", help="Also time bare tree-sitter-c on the same files "
                                          "and print both, with their ratio.")] = False,
) -> None:
    """Parse quality for a tree: functions with and without parse errors, the constructs
    that still defeat the parser, the configuration profile, cache state and throughput."""
    kernel = open_tree(tree, base)
    index = FunctionIndex(kernel, load_profile(profile), SummaryCache(enabled=not no_cache))
    files = c_files(index, list(paths or []))
    if not files:
        raise PatchlintError(tree or ".", f"no C files under {' '.join(paths or [])}", None, "check the paths")
    typer.echo(f"patchlint: parsing {len(files)} files", err=True)
    result = survey(index, files)
    comparison = compare_with_bare(index, files) if compare else None
    sys.stdout.write(render_doctor(kernel.describe(), index.profile.name, list(paths or []), result,
                                   index.cache.directory, index.cache.size(), comparison))


def _tree_for(tree: str | None, base: str | None, series_base: str | None, lenient: bool):
    """The explicit tree must be a kernel tree; the implicit one (cwd) may be absent."""
    if tree is not None or base is not None or lenient:
        if lenient and tree is None and base is None:
            try:
                return open_tree(None, None, series_base)
            except PatchlintError as exc:
                raise PatchlintError(exc.source, exc.message, exc.line,
                                     "--lenient recovers hunks against a tree; give it with --tree DIR") from None
        return open_tree(tree, base, series_base)
    try:
        return open_tree(None, None, series_base)
    except PatchlintError:
        return None


def main() -> None:
    """Entry point: run the app, render errors as one line, never a traceback."""
    try:
        app(standalone_mode=False)
    except PatchlintError as exc:
        _die(exc.render())
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _die("aborted")
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except typer.TyperException as exc:
        _die(_usage_message(exc))
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
        if os.environ.get("PATCHLINT_DEBUG"):
            raise
        _die(f"internal error: {exc.__class__.__name__}: {exc} (please report it; "
             "PATCHLINT_DEBUG=1 shows the traceback)")


def _usage_message(exc: typer.TyperException) -> str:
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "patchlint"
    if exc.__class__.__name__ == "NoArgsIsHelpError" and ctx is not None:
        sys.stdout.write(ctx.get_help() + "\n")
        sys.exit(0)
    return f"{command}: {exc.format_message()} (see {command} --help)"


def _die(message: str) -> None:
    sys.stderr.write("patchlint: " + " ".join(message.split()) + "\n")
    sys.exit(EXIT_USAGE)
