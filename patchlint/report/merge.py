"""`patchlint sarif-merge`: the SARIF of a scan's shards as the one log the unsharded scan writes.

Each shard of `patchlint scan --shard K/N` writes a whole SARIF log: the same tool, rules,
invocation and run properties as the unsharded scan, the results reported in the files it owns,
and `"shard": {"index": K, "count": N}` last in its run's properties.  Merging checks that the
inputs are exactly shards 1..N of one scan (the same N, each once, everything but the results and
the shard the same, every result in a file its shard owns, results in patchlint's order), then
writes shard 1's log with the shard property dropped and the results of all shards merged in the
order the unsharded scan sorts its findings (file, line, kind, message; every finding of a file
is in one shard, so findings that compare equal keep their shard's order).  The rules are the same
table in every shard (every kind patchlint knows, in one order), so rule indexes need no mapping,
and patchlint writes no `artifacts` array whose indexes would.

Anything else -- two runs, another tool, a shard missing or given twice, shards of different scans
-- is an input error naming the file: a merged log that is not the scan's would be uploaded as if
it were.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass
from typing import Any

from patchlint.errors import PatchlintError
from patchlint.findings import Shard
from patchlint.report.sarif import dump_sarif

HINT = "give the SARIF of each shard K/N of one `patchlint scan --shard K/N --format sarif`"


@dataclass(frozen=True)
class ShardLog:
    """One input: the file it came from, the shard it says it is, and the log."""

    path: str
    shard: Shard
    log: dict[str, Any]

    @property
    def run(self) -> dict[str, Any]:
        return self.log["runs"][0]


def read_shard(path: str) -> ShardLog:
    """A shard's SARIF log from `path`; an input error naming it when it is not one."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise PatchlintError(path, f"cannot read: {exc.strerror}", None, None) from None
    except UnicodeDecodeError:
        raise PatchlintError(path, "is not UTF-8 text, so not SARIF", None, HINT) from None
    try:
        log = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PatchlintError(path, f"is not JSON: {exc.msg}", exc.lineno, HINT) from None
    runs = log.get("runs") if isinstance(log, dict) else None
    if not isinstance(log, dict) or log.get("version") != "2.1.0" or not isinstance(runs, list):
        raise PatchlintError(path, "is not a SARIF 2.1.0 log", None, HINT)
    if len(runs) != 1 or not isinstance(runs[0], dict):
        raise PatchlintError(path, f"has {len(runs)} runs; a patchlint scan writes one", None, HINT)
    run = runs[0]
    driver = run.get("tool", {}).get("driver", {}) if isinstance(run.get("tool"), dict) else {}
    if not isinstance(driver, dict) or driver.get("name") != "patchlint":
        raise PatchlintError(path, "is not patchlint's SARIF (tool.driver.name is not patchlint)", None, HINT)
    props = run.get("properties")
    shard = props.get("shard") if isinstance(props, dict) else None
    if not isinstance(shard, dict) or set(shard) != {"index", "count"} or \
            not all(isinstance(shard[k], int) and not isinstance(shard[k], bool) for k in shard):
        raise PatchlintError(path, "is not the SARIF of a shard (no shard in its run's properties: "
                             "made without --shard?)", None, HINT)
    if not 1 <= shard["index"] <= shard["count"]:
        raise PatchlintError(path, f"says it is shard {shard['index']}/{shard['count']}", None, HINT)
    if not isinstance(run.get("results"), list) or not all(isinstance(r, dict) for r in run["results"]):
        raise PatchlintError(path, "has no list of results", None, HINT)
    return ShardLog(path, Shard(shard["index"], shard["count"]), log)


def result_key(result: dict[str, Any]) -> tuple[int, str, int, str, str]:
    """Finding.sort_key of the finding a result was rendered from: (patch, file, line, kind, message).
    Values of another type than patchlint writes count as absent: a hand-made file is refused for
    its order, never with a traceback."""
    props = _dict(result.get("properties"))
    physical = _physical(result)
    return (_int(props.get("patch")), _uri(result) or "", _int(_dict(physical.get("region")).get("startLine")),
            _str(result.get("ruleId")), _str(_dict(result.get("message")).get("text")))


def _uri(result: dict[str, Any]) -> str | None:
    uri = _dict(_physical(result).get("artifactLocation")).get("uri")
    return uri if isinstance(uri, str) else None


def _physical(result: dict[str, Any]) -> dict[str, Any]:
    locations = result.get("locations")
    first = locations[0] if isinstance(locations, list) and locations else {}
    return _dict(_dict(first).get("physicalLocation"))


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _without_results(s: ShardLog) -> dict[str, Any]:
    """The log as every shard of one scan writes it alike: all but the results and the shard."""
    run = {k: v for k, v in s.run.items() if k != "results"}
    run["properties"] = {k: v for k, v in run["properties"].items() if k != "shard"}
    return {k: ([run] if k == "runs" else v) for k, v in s.log.items()}


def _first_difference(a: Any, b: Any, where: str) -> str:
    """Where two JSON values first differ, as a path (`runs[0].properties.tree`)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b or a[k] != b[k]:
                return _first_difference(a.get(k), b.get(k), f"{where}.{k}" if where else k)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{where}[{i}]")
    return where


def merge_shards(shards: list[ShardLog]) -> dict[str, Any]:
    """The unsharded scan's SARIF log from its shards' logs (any order)."""
    if not shards:
        raise PatchlintError("sarif-merge", "no SARIF files given", None, HINT)
    count = shards[0].shard.count
    seen: dict[int, ShardLog] = {}
    for s in shards:
        if s.shard.count != count:
            raise PatchlintError(s.path, f"is shard {s.shard} but {shards[0].path} is shard {shards[0].shard}: "
                                 "shards of scans split differently", None, HINT)
        if s.shard.index in seen:
            raise PatchlintError(s.path, f"is shard {s.shard}, as {seen[s.shard.index].path} is", None, HINT)
        seen[s.shard.index] = s
    missing = [str(Shard(k, count)) for k in range(1, count + 1) if k not in seen]
    if missing:
        raise PatchlintError("sarif-merge", f"shard{'s' * (len(missing) > 1)} {', '.join(missing)} missing "
                             f"(given: {', '.join(f'{s.shard} in {s.path}' for s in sorted(shards, key=_index))})",
                             None, HINT)
    ordered = [seen[k] for k in range(1, count + 1)]
    first = ordered[0]
    common = _without_results(first)
    for s in ordered[1:]:
        other = _without_results(s)
        if other != common:
            raise PatchlintError(s.path, f"is not from the same scan as {first.path}: "
                                 f"{_first_difference(common, other, '')} differs", None, HINT)
    for s in ordered:
        stray = next((r for r in s.run["results"] if not s.shard.owns(_uri(r))), None)
        if stray is not None:
            raise PatchlintError(s.path, f"holds a result in {_uri(stray) or '(no file)'}, which shard {s.shard} "
                                 "does not own: edited, or made by a patchlint that splits files otherwise", None,
                                 HINT)
        keys = [result_key(r) for r in s.run["results"]]
        if any(b < a for a, b in zip(keys, keys[1:], strict=False)):
            raise PatchlintError(s.path, "has its results out of patchlint's order (file, line, kind, message): "
                                 "edited, or not written by patchlint scan", None, HINT)
    # heapq.merge is stable across its inputs (equal keys come from the earlier shard first) and
    # keeps each shard's own order; equal keys never span shards, since a file is in one shard
    results = list(heapq.merge(*(s.run["results"] for s in ordered), key=result_key))
    # shard 1's log, key for key in its order (assigning a key keeps its place in a dict)
    run = {k: (results if k == "results" else v) for k, v in first.run.items()}
    run["properties"] = {k: v for k, v in run["properties"].items() if k != "shard"}
    return {k: ([run] if k == "runs" else v) for k, v in first.log.items()}


def _index(s: ShardLog) -> int:
    return s.shard.index


def merge_files(paths: list[str]) -> str:
    """`patchlint sarif-merge PATHS...`: the merged log, as patchlint writes SARIF."""
    return dump_sarif(merge_shards([read_shard(p) for p in paths]))


__all__ = ["ShardLog", "merge_files", "merge_shards", "read_shard", "result_key"]
