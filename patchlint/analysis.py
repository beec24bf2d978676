"""The analysis as a library: what the command line, the hook and the tests call.

    inputs = load(["series.mbox"], tree="linux")       # the series and the tree it applies to
    report = check(inputs, load_config("linux"))        # static checks, then the model's replays
    report.findings, report.fails(), report.document()

`check` and `scan` take their settings as a `Config` (patchlint.workflow.config) and return a
`Report`; they print nothing and never remember answers: the command line renders the report
and records the answer around the call (patchlint.answers), so a run the clock or the model cut
short (`Report.complete` false) is never given again as if it were whole.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from patchlint.errors import PatchlintError
from patchlint.findings import Finding, Shard
from patchlint.records import Note, Series
from patchlint.workflow.config import Config, load_config

if TYPE_CHECKING:
    from patchlint.cparse.cache import SummaryCache
    from patchlint.source.apply import AppliedSeries
    from patchlint.source.tree import Tree

Progress = Callable[[str], None] | None


@dataclass(frozen=True)
class Inputs:
    """A series and the tree (at the revision) it applies to."""

    series: Series
    kernel: Tree

    def paths(self) -> set[str]:
        """Every path a patch of the series names, before or after."""
        return {p for patch in self.series.patches for fc in patch.files for p in (fc.old_path, fc.new_path) if p}


@dataclass(frozen=True)
class Report:
    """What a check or a scan found, with what a renderer needs to show it."""

    series: Series  # with the notes the analysis added
    applied: AppliedSeries | None
    findings: tuple[Finding, ...]  # after the configuration's filter, in report order
    tree: str  # the tree as the report names it
    fail_on: str
    complete: bool = True  # false when the clock or the model cut something short
    safe_sites: tuple[Any, ...] = field(default=())  # set_page_dirty() sites found safe, for --explain
    shard: Shard | None = None  # the part of a scan this report is (scan --shard K/N)

    def fails(self) -> bool:
        """Whether the findings make the exit status 1 at the configured level."""
        from patchlint.checks import fails

        return fails(list(self.findings), self.fail_on)

    def document(self) -> dict[str, Any]:
        """The report as the one document every format renders."""
        from patchlint.report.document import document

        doc = document(self.series, self.applied, list(self.findings), self.tree)
        if self.shard is not None:
            # said in the document, so `sarif-merge` can tell a complete set of shards of one scan
            doc["shard"] = {"index": self.shard.index, "count": self.shard.count}
        return doc


def load(series: list[str] | None, *, tree: str | None = None, base: str | None = None, range_: str | None = None,
         lenient: bool = False, command: str = "patchlint",
         open_kernel: Callable[[str | None, str | None], Tree | None] | None = None) -> Inputs:
    """The series and the tree it applies to.  `open_kernel(base, series_base)` opens the tree
    for a mailed series (show's may be absent); a range is always read from its repository."""
    from patchlint.ingest import read_series
    from patchlint.source.tree import open_tree
    from patchlint.workflow.base import made_on

    if range_ and series:
        raise PatchlintError("--range", "give either series files or --range, not both", None, None)
    if range_:
        from patchlint.ingest.gitrange import read_range  # GitPython: only for a range

        parsed, base_sha = read_range(tree or ".", range_, lenient=lenient)
        return Inputs(parsed, open_tree(tree, base_sha))
    if not series:
        raise PatchlintError(command, "no series given", None,
                             "give an mbox or patch file, a format-patch directory, - for stdin, or --range A..B")
    parsed = read_series(series, lenient=lenient)
    opener = open_kernel or (lambda rev, series_base: open_tree(tree, rev, series_base))
    return Inputs(parsed, opener(base if base is not None else made_on(tree, parsed), parsed.base_commit))


def load_pending(tree: str | None, *, staged: bool = False, env: Mapping[str, str] | None = None,
                 lenient: bool = False) -> tuple[Inputs | None, str | None]:
    """What a pre-commit hook checks (patchlint.workflow.precommit): the staged changes as one
    patch against HEAD, or (not `staged`) the commits being pushed.  None when there is nothing
    to check; with a note when only part of a first push is checked."""
    from patchlint.ingest.series import Input, build_series
    from patchlint.source.tree import open_tree
    from patchlint.workflow import precommit

    top = Path(tree or ".")
    if staged:
        patch = precommit.staged_patch(top)
        if patch is None:
            return None, None
        # a subject for the report's header; the index is what is committed: HEAD plus this patch
        mail = b"Subject: [PATCH] staged changes\n\n---\n" + patch
        return Inputs(build_series([Input("(staged changes)", mail)], lenient=lenient), open_tree(tree, "HEAD")), None
    spec, note = precommit.pushed_range(top, os.environ if env is None else env)
    return (None if spec is None else load(None, tree=tree, range_=spec, lenient=lenient)), note


def check(inputs: Inputs, config: Config | None = None, *, cache: SummaryCache | None = None,
          progress: Progress = None) -> Report:
    """Apply the series in memory and find, per patch, what it introduces, fixes or leaves:
    the static checks, then (when the configuration says so) the model's scenario replays."""
    from patchlint.checks import analyse_series
    from patchlint.cparse.cache import SummaryCache
    from patchlint.cparse.index import FunctionIndex
    from patchlint.explore.catalog import catalog as scenario_catalog
    from patchlint.explore.series import model_findings
    from patchlint.source.apply import apply_series
    from patchlint.workflow.base import timed_out

    cfg = config if config is not None else load_config(None)
    # the catalog is loaded (and checked) before any work: a broken scenario file is an input error
    catalog = scenario_catalog(cfg.scenarios) if cfg.model else []
    complete = not timed_out()
    applied = apply_series(inputs.kernel, inputs.series)
    safe: list = []
    profile = cfg.load_profile()
    cache = cache if cache is not None else SummaryCache()
    found = analyse_series(applied, profile=profile, cache=cache, progress=progress, explanations=safe)
    series = inputs.series
    if cfg.model:
        notes: list[Note] = []
        cut: list[str] = []
        found += model_findings(applied, profile=profile, cache=cache, catalog=catalog, progress=progress,
                                notes=notes, cut=cut)
        series = replace(series, notes=series.notes + tuple(notes))
        complete = complete and not cut
        found = _judged(found, lambda k: FunctionIndex(applied.tree, profile, cache, overlay=applied.overlay(k)),
                        len(applied.series.patches), progress, cache)
    findings = cfg.filter(sorted(found, key=Finding.sort_key))
    return Report(series, applied, tuple(findings), inputs.kernel.describe(), cfg.fail_on, complete, tuple(safe))


def scan(tree: str | None, paths: list[str] | None = None, config: Config | None = None, *, base: str | None = None,
         jobs: int = 1, progress: Progress = None, announce: Progress = None, shard: Shard | None = None) -> Report:
    """Every static check over the tree, or the files and directories `paths` names in it:
    without a series, every finding is `existing`.  `announce` hears how many files are read,
    `progress` how the checks go.  With a `shard`, only the findings reported in the files it
    owns (Shard.owns) are judged and reported: the shards of one scan together give exactly its
    findings."""
    from patchlint.checks.tree import scan as scan_tree

    cfg = config if config is not None else load_config(tree)
    index = tree_index(tree, base, cfg)
    functions = functions_under(index, list(paths or []), "scanning", announce)
    # Every shard walks all the scanned functions: a finding's evidence runs through callers and
    # callees in other files, and the walk's memo and budgets (per root, and the reverse search's
    # over all lock pairs) make what one function shows depend on what was walked before it.  A
    # walk of only a shard's functions would report other paths, or other findings, than the
    # unsharded scan; filtering the one walk's findings cannot.  What a shard saves is the
    # model's replay of every finding it does not own, and rendering them.
    findings, _ = scan_tree(index, functions, jobs=jobs, progress=progress)
    if shard is not None:
        findings = [f for f in findings if shard.owns(f.file)]
    if cfg.model:
        findings = _judged(findings, lambda _: index, 0, progress, index.cache)
    # every finding of a scan is `existing`: fail-on new (the default) passes, any fails
    return Report(Series((), None, (), ()), None, tuple(cfg.filter(findings)), index.tree.describe(), cfg.fail_on,
                  shard=shard)


@dataclass(frozen=True)
class Verdict:
    """What the send-email hook prints for one mail, and its exit status."""

    output: str
    code: int


def validate_mail(mail: str, env: Mapping[str, str], tree: str | None = None,
                  overrides: dict[str, Any] | None = None) -> Verdict:
    """git send-email's sendemail-validate hook for one mail (patchlint.workflow.sendemail says
    which series it is checked in and which of its patches decide): only what fails the check
    is printed, nothing when the mail may go."""
    from patchlint.errors import NoPatchError
    from patchlint.report.gate import render_gate
    from patchlint.workflow import sendemail

    path = Path(os.path.abspath(mail))
    if not path.is_file():
        raise PatchlintError(mail, "no such mail file", None, "git send-email passes the mail to check as $1")
    top = Path(tree or ".")
    planned = sendemail.plan(path, env, top)
    if planned is None:
        return Verdict("", 0)
    cfg = load_config(tree, overrides or {})
    try:
        inputs = load([str(f) for f in planned.files], tree=tree)
    except NoPatchError:
        return Verdict("", 0)  # a mail without a patch (an announcement): nothing to hold back
    report = check(inputs, cfg)
    judged = None
    if planned.judged is not None:
        # the patches the mail carries: one, or all of an mbox given as one file
        judged = {p.index for p in inputs.series.patches if p.source == str(planned.judged)}
        if not judged:
            return Verdict("", 0)  # the mail carries no patch of the series
    out, failed = render_gate(report.document(), cfg.fail_on, judged)
    if planned.collected:
        sendemail.finish(top)
    return Verdict(out, 1 if failed else 0)


def _judged(findings: list[Finding], index_of: Callable[[int], Any], last: int, progress: Progress,
            cache: SummaryCache | None = None) -> list[Finding]:
    """The static findings the model can judge, replayed: each in the tree state it was found in
    (after its patch; `index_of(k)` gives the state after patch k, one index per state).  A
    verdict is kept in the cache under everything it read, so a check asked again (another
    format, the next version of a series) replays only what changed."""
    from patchlint.findings import REPLAYED, Replay

    indexes: dict[int, Any] = {}
    todo = [i for i, f in enumerate(findings) if f.kind in REPLAYED and f.witnesses and f.status != "fixed"]
    if not todo:
        return findings
    out = list(findings)
    keys: dict[int, str | None] = {}
    for i in todo:
        k = findings[i].patch or last
        if k not in indexes:
            indexes[k] = index_of(k)
        # a verdict is a function of the tree state, the finding and its paths
        keys[i] = indexes[k].state_key("replay", findings[i].kind, findings[i].identity, findings[i].witnesses)
        known = cache.get(keys[i], Replay, counted=False) if cache is not None and keys[i] else None
        if isinstance(known, Replay):
            out[i] = findings[i].judged(known)
    left = [i for i in todo if out[i].replay is None]
    if left and progress is not None:
        progress(f"replaying {len(left)} static finding{'s' * (len(left) != 1)} in the model")
    if left:
        from patchlint.explore.judge import judge_one  # the model: only when something is replayed

        for i in left:
            verdict = judge_one(indexes[findings[i].patch or last], findings[i])
            out[i] = findings[i].judged(verdict)
            # a verdict the clock decided says something about the machine: not kept
            if cache is not None and keys[i] and "(time)" not in verdict.reason:
                cache.put(keys[i], verdict)
    return out


def tree_index(tree: str | None, base: str | None, config: Config):
    """The tree's function index under the configuration's profile."""
    from patchlint.cparse.cache import SummaryCache
    from patchlint.cparse.index import FunctionIndex
    from patchlint.source.tree import open_tree

    return FunctionIndex(open_tree(tree, base), config.load_profile(), SummaryCache())


def functions_under(index, paths: list[str], what: str, announce: Progress = None) -> list:
    """The functions of the C files under `paths` (all of the tree when empty)."""
    from patchlint.cparse.survey import c_files

    files = c_files(index, paths)
    if not files:
        raise PatchlintError(index.tree.name, f"no C files under {' '.join(paths) or 'the tree'}", None,
                             "check the paths")
    if announce is not None:
        announce(f"{what} {len(files)} files")
    return [f for parsed in index.parse_paths(files) for f in parsed.functions]


def scenario_dirs(config: Config) -> list[str]:
    """The scenario directories a check reads (its answer depends on them)."""
    return [str(Path(d).absolute()) for d in config.scenarios] if config.model else []


@dataclass(frozen=True)
class Replayed:
    """One scenario replayed on a tree: the explorer's result and where it ran."""

    result: Any  # patchlint.explore.explorer.Result
    kernel: Tree
    index: Any  # patchlint.cparse.index.FunctionIndex


def replay(scenario: str, tree: str | None, config: Config | None = None, *, base: str | None = None,
           series: list[str] | None = None, bound: int = 2) -> Replayed:
    """Replay one scenario (a file, or a catalog name) on the tree, with `series` applied in
    memory if given: every interleaving within the preemption bound."""
    from patchlint.cparse.cache import SummaryCache
    from patchlint.cparse.index import FunctionIndex
    from patchlint.explore.explorer import explore
    from patchlint.explore.scenario import applies, scenario_path
    from patchlint.explore.scenario import load as load_scenario
    from patchlint.source.apply import apply_series
    from patchlint.source.tree import open_tree

    cfg = config if config is not None else load_config(tree)
    path = scenario_path(scenario, cfg.scenarios)
    sc = load_scenario(path)
    if series:
        inputs = load(series, tree=tree, base=base)
        applied = apply_series(inputs.kernel, inputs.series)
        kernel = inputs.kernel
        overlay = {p: (None if (img := applied.image(p)) is None else img.text().encode("utf-8", "surrogateescape"))
                   for p in applied.touched()}
    else:
        kernel, overlay = open_tree(tree, base), {}
    index = FunctionIndex(kernel, cfg.load_profile(), SummaryCache(), overlay=overlay)
    why_not = applies(sc, index)
    if why_not is not None:
        raise PatchlintError(str(path), f"scenario {sc.name} does not apply to this tree: {why_not}", None,
                             "a scenario runs where its `kernels` range and its threads' calls fit the tree")
    return Replayed(explore(index, sc, bound), kernel, index)
