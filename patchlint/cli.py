"""The command line.  Commands parse arguments and call library code; the
report goes to stdout, notes and errors to stderr, and errors are rendered
here and only here: one line, exit status 2, never a traceback."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from typing import Annotated

import typer

from patchlint import __version__, console
from patchlint.errors import PatchlintError
from patchlint.printable import displayable_doc, printable
from patchlint.workflow.config import load_config, render_config

# Each command imports what it uses: a warm `check` answered from the cache should not pay for
# the parser, the walkers and the model on every start (a send-email hook runs once per series).

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
    terse = "terse"
    json = "json"
    sarif = "sarif"
    github = "github"
    b4_review = "b4-review"


class Color(StrEnum):
    auto = "auto"
    always = "always"
    never = "never"


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
    metavar="[SERIES]...", help="mbox, .patch/.diff file, git format-patch directory, or - for standard input.",
    show_default=False)]
TreeOpt = Annotated[str | None, typer.Option("--tree", metavar="DIR", help="Kernel tree: a directory or git repository "
                                             "(default: the current directory).", show_default=False)]
BaseOpt = Annotated[str | None, typer.Option("--base", metavar="REV",
                                             help="Revision of the --tree repository to apply to "
                                             "(default: the series' base-commit if the tree has it, else HEAD).",
                                             show_default=False)]
RangeOpt = Annotated[str | None, typer.Option("--range", metavar="A..B",
                                              help="A..B in the --tree repository: each non-merge "
                                              "commit is one patch, applied to A.", show_default=False)]
LenientOpt = Annotated[bool, typer.Option("--lenient", help="Recover whitespace-damaged patches (as web archives "
                                          "render mail) by locating removed lines in the tree; recovered hunks "
                                          "are flagged.")]


FailOnOpt = Annotated[FailOn | None, typer.Option(
    "--fail-on", help="Which findings make the exit status 1 (and are what terse and b4-review print): new "
    "errors, new errors and warnings, any finding that is not fixed or refuted by the model's replay, or never "
    "(default: the configuration's fail-on, else new).", show_default=False)]
DisableOpt = Annotated[list[str] | None, typer.Option(
    "--disable", metavar="KIND", help="Do not report findings of this kind (repeatable; replaces the "
    "configuration's disable list; `patchlint explain` lists the kinds).", show_default=False)]
ExcludeOpt = Annotated[list[str] | None, typer.Option(
    "--exclude", metavar="PATH", help="Do not report findings in this directory or glob (repeatable; replaces "
    "the configuration's exclude list).", show_default=False)]
ProfileOpt = Annotated[str | None, typer.Option(
    "--profile", metavar="NAME", help="Configuration profile (architecture) from grammars/profiles.toml "
    "(default: the configuration's profile, else s390).", show_default=False)]
DefineOpt = Annotated[list[str] | None, typer.Option(
    "--define", metavar="NAME[=VALUE]", help="Define a macro for the profile, e.g. CONFIG_NUMA (repeatable; "
    "replaces the configuration's defines).", show_default=False)]


ShowRefutedOpt = Annotated[bool, typer.Option(
    "--show-refuted", help="Also print the static findings the model's replay refuted (text counts them in "
    "its totals either way; terse, github and b4-review leave them out; JSON and SARIF always carry them). "
    "A refuted finding never fails the check.")]


ScenariosOpt = Annotated[list[str] | None, typer.Option(
    "--scenarios", metavar="DIR", help="A directory of your own scenario files (*.litmus) to run beside the "
    "shipped catalog (repeatable; replaces the configuration's scenarios list).", show_default=False)]


def _cli_config(fail_on: FailOn | None = None, disable: list[str] | None = None, exclude: list[str] | None = None,
                profile: str | None = None, define: list[str] | None = None, scenarios: list[str] | None = None,
                model: bool | None = None) -> dict:
    return {"fail-on": fail_on.value if fail_on else None, "disable": disable, "exclude": exclude,
            "profile": profile, "defines": define, "scenarios": scenarios, "model": model}


@app.command()
def check(
    series: SeriesArg = None,
    range_: RangeOpt = None,
    tree: TreeOpt = None,
    base: BaseOpt = None,
    lenient: LenientOpt = False,
    fmt: Annotated[CheckFormat, typer.Option("--format", help="Output format: text (checkpatch and lockdep "
                                             "shapes), terse (checkpatch --terse lines of what fails the check, "
                                             "for b4), json, sarif "
                                             "(SARIF 2.1.0), github (Actions annotations), b4-review (b4's "
                                             "review check JSON).")] = CheckFormat.text,
    fail_on: FailOnOpt = None,
    disable: DisableOpt = None,
    exclude: ExcludeOpt = None,
    profile: ProfileOpt = None,
    define: DefineOpt = None,
    color: Annotated[Color, typer.Option("--color", help="Colour the text format: auto (when stdout is a "
                                         "terminal and NO_COLOR is not set), always, never.")] = Color.auto,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notes on stderr (errors still "
                                        "go there; formats other than text never print notes).")] = False,
    model: Annotated[bool | None, typer.Option("--model/--no-model", help="Replay the scenario catalog's "
                                               "races (grammars/scenarios and --scenarios) whose threads reach "
                                               "what a patch touches, before and after it, in the s390 mm model "
                                               "(default: the configuration's model, else on).",
                                               show_default=False)] = None,
    scenarios: ScenariosOpt = None,
    show_refuted: ShowRefutedOpt = False,
    show_existing: Annotated[bool, typer.Option("--show-existing", help="With the text format, also print "
                                                "the findings the patch leaves as they were (counted either way; "
                                                "JSON and SARIF always carry them).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="With the text format, every label's "
                                          "evidence in full and model interleavings with every step (JSON "
                                          "always has them).")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="With the text format, also list the "
                                          "set_page_dirty() sites found safe and the rule that made each "
                                          "safe (page lock held, or mapping pinned).")] = False,
    staged: Annotated[bool, typer.Option("--staged", help="Check the staged changes to C files as one patch "
                                         "against HEAD (pre-commit's hook); nothing staged passes.")] = False,
    pushed: Annotated[bool, typer.Option("--pushed", help="Check the commits being pushed (pre-commit's "
                                         "pre-push hook): PRE_COMMIT_FROM_REF..PRE_COMMIT_TO_REF, or on a first "
                                         "push the commits of the branch (default HEAD) no remote-tracking "
                                         "branch has; nothing to push passes.")] = False,
) -> None:
    """Check a series: apply it in memory and report, per patch, the findings it
    introduces (new), removes (fixed) or leaves (existing).  Settings come from the
    command line, the tree's .patchlint.toml and the user's config file (see
    `patchlint config`)."""
    from patchlint import analysis, answers
    from patchlint.report.formats import render

    answers.check_inputs(tree, series or [])
    cfg = load_config(tree, _cli_config(fail_on, disable, exclude, profile, define, scenarios, model))
    for d in analysis.scenario_dirs(cfg):
        answers.depend("dir", d)
    if staged or pushed:
        if series or range_ or base or (staged and pushed):
            raise PatchlintError("--staged" if staged else "--pushed", "checks what git has staged or is pushing",
                                 None, "give it alone, without series files, --range, --base or the other one")
        pending, note = analysis.load_pending(tree, staged=staged, lenient=lenient)
        if note and not quiet:
            sys.stderr.write(f"patchlint: note: {printable(note)}\n")
        if pending is None:
            return  # nothing staged, nothing to push: nothing can fail
        inputs = pending
    else:
        inputs = analysis.load(series, tree=tree, base=base, range_=range_, lenient=lenient)
    answers.opened_tree(tree, inputs.kernel.revision is not None, inputs.paths())
    with console.progress(quiet) as progress:
        report = analysis.check(inputs, cfg, progress=progress)
    if not report.complete:
        answers.spoil()
    # Tools reading the other formats take stderr for errors (b4 counts every stderr line of a
    # check command as a failure); they find the notes in the document (json, sarif) if anywhere.
    err = _notes_text(report.series) if not quiet and fmt is CheckFormat.text else ""
    out = render(fmt.value, report.document(), color=console.use_color(color.value), show_refuted=show_refuted,
                 fail_on=report.fail_on, show_existing=show_existing, verbose=verbose)
    if explain and fmt is CheckFormat.text:
        from patchlint.report.tree import render_safe_sites

        out += render_safe_sites(list(report.safe_sites))
    code = 1 if report.fails() else 0
    sys.stderr.write(err)
    sys.stdout.write(out)
    sys.stdout.flush()
    answers.remember(answers.Answer(out, err, code))  # only what was printed in full
    if code:
        raise typer.Exit(code)


def _notes(parsed) -> None:
    sys.stderr.write(_notes_text(parsed))


def _notes_text(parsed) -> str:
    lines = []
    for note in parsed.notes:
        where = f"{note.source}:{note.line}" if note.line else note.source
        if note.source.endswith(".litmus"):  # a scenario is named, never a location in the user's tree
            where = "scenario " + note.source.rsplit("/", 1)[-1].removesuffix(".litmus")
        lines.append(f"patchlint: note: {printable(f'{where}: {note.message}')}\n")
    return "".join(lines)


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
    from patchlint.analysis import load
    from patchlint.report.document import document
    from patchlint.report.json_doc import render_json
    from patchlint.report.show import render_show_text
    from patchlint.source.apply import apply_series
    from patchlint.source.findings import apply_findings

    inputs = load(series, tree=tree, base=base, range_=range_, lenient=lenient, command="patchlint show",
                  open_kernel=lambda rev, series_base: _tree_for(tree, rev, series_base, lenient))
    parsed, kernel = inputs.series, inputs.kernel
    applied = apply_series(kernel, parsed) if kernel is not None else None
    findings = apply_findings(applied) if applied is not None else []
    _notes(parsed)
    doc = document(parsed, applied, findings, kernel.describe() if kernel is not None else None)
    sys.stdout.write(render_json(doc) if fmt is ShowFormat.json else render_show_text(displayable_doc(doc)))


@app.command()
def doctor(
    paths: Annotated[list[str] | None, typer.Argument(metavar="[PATH]...",
                                                      help="Files or directories of the tree (default: all of it).",
                                                      show_default=False)] = None,
    tree: TreeOpt = None,
    base: BaseOpt = None,
    profile: ProfileOpt = None,
    define: DefineOpt = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the summary cache.")] = False,
    compare: Annotated[bool, typer.Option("--compare", help="Also time bare tree-sitter-c on the same files "
                                          "and print both, with their ratio.")] = False,
    config: Annotated[bool, typer.Option("--config", help="List every CONFIG_ option the files test: on, "
                                         "and where from (the tree's defconfig or Kconfig, the profile's "
                                         "table, --define), or off.")] = False,
) -> None:
    """Parse quality for a tree: functions with and without parse errors, the constructs
    that still defeat the parser, the configuration profile, cache state and throughput."""
    from patchlint.cparse.cache import SummaryCache
    from patchlint.cparse.index import FunctionIndex
    from patchlint.cparse.survey import c_files, compare_with_bare, peak_memory, survey
    from patchlint.report.doctor import render_doctor
    from patchlint.source.tree import open_tree

    cfg = load_config(tree, _cli_config(profile=profile, define=define))
    kernel = open_tree(tree, base)
    index = FunctionIndex(kernel, cfg.load_profile(), SummaryCache(enabled=not no_cache))
    files = c_files(index, list(paths or []))
    if not files:
        raise PatchlintError(tree or ".", f"no C files under {' '.join(paths or [])}", None, "check the paths")
    console.announce(f"parsing {len(files)} files")
    result = survey(index, files)
    comparison = compare_with_bare(index, files) if compare else None
    sys.stdout.write(render_doctor(kernel.describe(), index.profile.name, list(paths or []), result,
                                   index.cache.directory, index.cache.size(), comparison,
                                   cache_off_reason=index.cache.off_reason, config=config,
                                   memory=peak_memory()))


def _tree_index(tree: str | None, base: str | None, profile: str | None, define: list[str] | None):
    from patchlint.analysis import tree_index

    return tree_index(tree, base, load_config(tree, _cli_config(profile=profile, define=define)))


PathsArg = Annotated[list[str] | None, typer.Argument(metavar="[PATH]...",
                                                      help="Files or directories of the tree (default: all of it).",
                                                      show_default=False)]


@app.command()
def paths(
    function: Annotated[str, typer.Argument(help="The function to find call paths into.")],
    tree: TreeOpt = None,
    base: BaseOpt = None,
    depth: Annotated[int, typer.Option("--depth", metavar="N", min=1, max=12, help="How many callers up.")] = 4,
    profile: ProfileOpt = None,
    define: DefineOpt = None,
) -> None:
    """The call paths into FUNCTION, with the locks held at each call (e.g. page_remove_rmap()
    from zap_pte_range() with the PTL held, from reclaim with the page lock and the PTL held)."""
    from patchlint.checks.tree import call_paths
    from patchlint.report.tree import render_paths

    if not function.isidentifier():
        raise PatchlintError(function, "is not a C function name", None,
                             "give a function name such as page_remove_rmap")
    index = _tree_index(tree, base, profile, define)
    if not index.definitions(function):
        raise PatchlintError(index.tree.name, f"no definition of {function}() in the tree", None,
                             "check the name (patchlint reads the profile's #if branches only)")
    found, budget_hit = call_paths(index, function, depth)
    sys.stdout.write(render_paths(function, found, budget_hit))


@app.command()
def locks(
    paths_: PathsArg = None,
    tree: TreeOpt = None,
    base: BaseOpt = None,
    dot: Annotated[str | None, typer.Option("--dot", metavar="FILE",
                                            help="Also write the graph as Graphviz DOT to FILE.",
                                            show_default=False)] = None,
    svg: Annotated[str | None, typer.Option("--svg", metavar="FILE",
                                            help="Also draw the graph as SVG to FILE, with a legend of its "
                                            "styles (needs Graphviz's dot).", show_default=False)] = None,
    profile: ProfileOpt = None,
    define: DefineOpt = None,
) -> None:
    """The lock-order graph of a tree or part of it: which lock is taken while which is held,
    where, and the cycles among them."""
    from patchlint.analysis import functions_under
    from patchlint.checks.tree import lock_graph
    from patchlint.report.tree import render_dot, render_locks

    index = _tree_index(tree, base, profile, define)
    graph = lock_graph(index, functions_under(index, list(paths_ or []), "reading", console.announce))
    sys.stdout.write(render_locks(graph))
    if dot:
        _write_output(dot, render_dot(graph))
    if svg:
        _write_svg(svg, render_dot(graph, legend=True))


@app.command()
def scan(
    paths_: PathsArg = None,
    tree: TreeOpt = None,
    base: BaseOpt = None,
    fmt: Annotated[CheckFormat, typer.Option("--format", help="Output format, as for check.")] = CheckFormat.text,
    jobs: Annotated[int, typer.Option("--jobs", "-j", metavar="N", min=1, max=64, help="Worker processes.")] = 1,
    fail_on: FailOnOpt = None,
    disable: DisableOpt = None,
    exclude: ExcludeOpt = None,
    profile: ProfileOpt = None,
    define: DefineOpt = None,
    model: Annotated[bool | None, typer.Option("--model/--no-model", help="Replay each lock-order, "
                                               "recursive-locking, spin and sleep-in-atomic finding's paths in "
                                               "the model: confirmed, refuted (hidden from the text report "
                                               "unless --show-refuted) or unknown (default: the configuration's "
                                               "model, else on).", show_default=False)] = None,
    show_refuted: ShowRefutedOpt = False,
    shard: Annotated[str | None, typer.Option("--shard", metavar="K/N", help="Only shard K of N (K from 1): the "
                                              "findings in the files whose path hashes to K; `sarif-merge` of "
                                              "the N shards' SARIF is this scan's.", show_default=False)] = None,
) -> None:
    """All static checks over a tree or part of it, without a series (every finding is
    `existing`), each judged by replaying its paths in the model."""
    from patchlint import analysis
    from patchlint.cparse.survey import peak_memory
    from patchlint.findings import Shard
    from patchlint.report.formats import render
    from patchlint.report.tree import scan_summary

    part = Shard.parse(shard) if shard is not None else None  # before any work: a CI typo fails at once
    cfg = load_config(tree, _cli_config(fail_on, disable, exclude, profile, define, model=model))
    with console.progress() as progress:
        report = analysis.scan(tree, list(paths_ or []), cfg, base=base, jobs=jobs, progress=progress,
                               announce=console.announce, shard=part)
    # a scan has no patch: every finding is existing, and all of them are the report
    sys.stdout.write(render(fmt.value, report.document(), color=console.use_color("auto"), show_refuted=show_refuted,
                            fail_on=report.fail_on, show_existing=True))
    console.announce(scan_summary(len(report.findings), part, peak_memory()))
    if report.fails():
        raise typer.Exit(1)


@app.command("sarif-merge")
def sarif_merge(files: Annotated[list[str], typer.Argument(metavar="FILE...", help="Every shard's SARIF.")]) -> None:
    """The SARIF of a scan's N shards (scan --shard K/N --format sarif, any order) as the unsharded
    scan's, byte for byte; a set that is not exactly shards 1..N of one scan is refused."""
    from patchlint.report.merge import merge_files

    sys.stdout.write(merge_files(files))


def _write_output(path: str, text: str) -> None:
    try:
        with open(path, "w") as fh:
            fh.write(text)
    except OSError as exc:
        raise PatchlintError(path, f"cannot write: {exc.strerror}", None, None) from None


def _write_svg(path: str, dot_text: str) -> None:
    import shutil
    import subprocess

    dot_bin = shutil.which("dot")
    if dot_bin is None:
        raise PatchlintError(path, "drawing SVG needs Graphviz's dot, which is not installed", None,
                             "install graphviz, or write DOT with --dot FILE")
    proc = subprocess.run([dot_bin, "-Tsvg", "-o", path], input=dot_text, text=True, capture_output=True)
    if proc.returncode != 0:
        raise PatchlintError(path, f"dot failed: {proc.stderr.strip()[:200]}", None, None)


@app.command()
def replay(
    scenario_: Annotated[str, typer.Argument(metavar="SCENARIO", help="A scenario file (litmus style), or the "
                                             "name of one in the catalog (grammars/scenarios).")],
    tree: TreeOpt = None,
    base: BaseOpt = None,
    series: Annotated[list[str] | None, typer.Option("--series", metavar="FILE",
                                                     help="Replay on the tree with this series "
                                                     "applied in memory (repeatable).", show_default=False)] = None,
    bound: Annotated[int, typer.Option("--bound", "-k", metavar="K",
                                       min=0, max=8, help="Preemption bound (CHESS-style).")] = 2,
    fmt: Annotated[ShowFormat, typer.Option("--format", help="Output format.")] = ShowFormat.text,
    profile: ProfileOpt = None,
    define: DefineOpt = None,
    scenarios: ScenariosOpt = None,
) -> None:
    """Replay one race scenario in the s390 mm model: every interleaving of its threads within
    the preemption bound, and the hazards found, each with its counterexample."""
    from patchlint import analysis
    from patchlint.explore.explorer import render_replay
    from patchlint.explore.series import result_findings
    from patchlint.report.document import finding_dict
    from patchlint.report.json_doc import render_json

    cfg = load_config(tree, _cli_config(profile=profile, define=define, scenarios=scenarios))
    replayed = analysis.replay(scenario_, tree, cfg, base=base, series=series, bound=bound)
    result, kernel, index = replayed.result, replayed.kernel, replayed.index
    if fmt is ShowFormat.json:
        doc = {"tool": "patchlint", "version": __version__, "tree": kernel.describe(), "scenario": result.scenario,
               "profile": index.profile.name, "bound": bound, "states": result.states,
               "transitions": result.transitions, "complete": result.complete, "incomplete": result.incomplete,
               "unresolved": sorted(set(result.unresolved)), "notes": list(result.notes),
               "findings": [finding_dict(f) for f in result_findings(result)]}
        sys.stdout.write(render_json(doc))
    else:
        sys.stdout.write(render_replay(result, bound))
    if result.hazards:
        raise typer.Exit(1)


@app.command()
def explain(
    kind: Annotated[str | None, typer.Argument(metavar="[KIND]", help="A finding kind, e.g. lock-order-inversion "
                                               "(without one: the list of kinds).", show_default=False)] = None,
) -> None:
    """What a finding kind means, why it matters and what to do about it."""
    from patchlint.report.kinds import explain as explain_kind
    from patchlint.report.kinds import render_explain, render_kind_list

    sys.stdout.write(render_kind_list() if kind is None else render_explain(explain_kind(kind)))


@app.command("config")
def config_(
    tree: TreeOpt = None,
    fail_on: FailOnOpt = None,
    disable: DisableOpt = None,
    exclude: ExcludeOpt = None,
    profile: ProfileOpt = None,
    define: DefineOpt = None,
    model: Annotated[bool | None, typer.Option("--model/--no-model", help="As for check.",
                                               show_default=False)] = None,
    scenarios: ScenariosOpt = None,
) -> None:
    """The effective configuration and where each value comes from: the command line, the
    tree's .patchlint.toml, the user's $XDG_CONFIG_HOME/patchlint/config.toml, or the default."""
    sys.stdout.write(render_config(load_config(tree, _cli_config(fail_on, disable, exclude, profile, define,
                                                                 scenarios, model))))


hook_app = typer.Typer(help="The git send-email hook (sendemail-validate) that checks a series before it is sent.",
                       no_args_is_help=True)
app.add_typer(hook_app, name="hook")


@hook_app.command("install")
def hook_install(
    tree: Annotated[str | None, typer.Option("--tree", metavar="DIR", help="The git repository (default: the current "
                                             "directory).", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a different existing sendemail-validate hook "
                                        "(it is kept beside it as sendemail-validate.patchlint-saved).")] = False,
) -> None:
    """Install .git/hooks/sendemail-validate: git send-email then runs `patchlint check` on the
    series and sends nothing when it fails."""
    from patchlint.workflow import hook as sendemail_hook

    typer.echo(f"patchlint: {sendemail_hook.describe(sendemail_hook.install(tree, force))}", err=True)


@hook_app.command("uninstall")
def hook_uninstall(
    tree: Annotated[str | None, typer.Option("--tree", metavar="DIR", help="The git repository (default: the current "
                                             "directory).", show_default=False)] = None,
) -> None:
    """Remove patchlint's sendemail-validate hook (a hook patchlint did not write is left alone)."""
    from patchlint.workflow import hook as sendemail_hook

    typer.echo(f"patchlint: {sendemail_hook.describe(sendemail_hook.uninstall(tree))}", err=True)


@hook_app.command("validate")
def hook_validate(
    mail: Annotated[str, typer.Argument(metavar="MAIL", help="The mail git send-email is about to send ($1).")],
    headers: Annotated[str | None, typer.Argument(metavar="[HEADERS]", help="The SMTP headers git 2.41 and "
                                                  "later pass as $2 (not needed).", show_default=False)] = None,
    tree: TreeOpt = None,
) -> None:
    """What the installed hook runs for each mail: the mail is checked in its series (the mails
    of this git send-email run, or of its git format-patch directory) and only what fails the
    check is printed, with a one-line summary; nothing when the mail may go."""
    from patchlint import analysis

    verdict = analysis.validate_mail(mail, os.environ, tree)
    sys.stdout.write(verdict.output)
    sys.stdout.flush()
    if verdict.code:
        raise typer.Exit(verdict.code)


def _tree_for(tree: str | None, base: str | None, series_base: str | None, lenient: bool):
    """The explicit tree must be a kernel tree; the implicit one (cwd) may be absent."""
    from patchlint.source.tree import open_tree

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
        code = app(standalone_mode=False)
        # with standalone_mode off, a command's typer.Exit(n) comes back as the return value
        sys.exit(code if isinstance(code, int) else 0)
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
    text = printable(" ".join(message.split()))
    # an error of a command names it ("patchlint check: ..."): one prefix, not two
    console.error(("" if text.startswith("patchlint") else "patchlint: ") + text)
    sys.exit(EXIT_USAGE)
