"""`--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One run; one rule per finding kind (every kind patchlint knows, so rule
indexes are stable), with the kind's explanation as help.  One result per
finding that is still there: `baselineState` "new" for a new finding,
"unchanged" for an existing one; fixed findings are left out, as a code
scanning service decides "fixed" by absence.  Locations are on the post-image
(the tree with the series applied), relative to the tree root (`%SRCROOT%`);
a step in a scenario's own body names its scenario file in its message and has
no physical location (that file is not in the user's tree).
A finding's trace becomes a codeFlow with one threadFlow per CPU, each step
with its `executionOrder` in the interleaving; its lock chain becomes
relatedLocations.  `partialFingerprints` carries a hash of the finding's
identity, which does not change when lines move.  A static finding the model's replay
confirmed carries the replayed interleaving as its first codeFlow; one it refuted is
suppressed (`external`, with the reason as justification).  Ingest notes (skipped
replies, stray mail) are tool execution notifications.  A shard of a scan (`scan --shard K/N`)
says so in the run's properties (`"shard": {"index": K, "count": N}`); patchlint.report.merge
joins a scan's shards into the one run the unsharded scan writes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from patchlint.report.kinds import kind_info, kind_table

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVEL = {"error": "error", "warning": "warning", "check": "note"}
BASELINE = {"new": "new", "existing": "unchanged"}
SRCROOT = "%SRCROOT%"
FINGERPRINT = "patchlintIdentity/v1"
SCENARIO_SUFFIX = ".litmus"  # scenario files (grammars/scenarios, --scenarios DIR) are *.litmus


def render_sarif(doc: dict[str, Any]) -> str:
    return dump_sarif(sarif_log(doc))


def dump_sarif(log: dict[str, Any]) -> str:
    """A SARIF log as patchlint writes every one (`sarif-merge` too, so a merge of a scan's shards
    is the same bytes as the scan)."""
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def sarif_log(doc: dict[str, Any]) -> dict[str, Any]:
    kinds = list(kind_table())
    for f in doc["findings"]:
        if f["kind"] not in kinds:
            kinds.append(f["kind"])
    rules = [_rule(kind) for kind in kinds]
    results = [_result(doc, f, kinds.index(f["kind"])) for f in doc["findings"] if f["status"] != "fixed"]
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if doc.get("notes"):
        invocation["toolExecutionNotifications"] = [_notification(n) for n in doc["notes"]]
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "patchlint",
            "version": doc["version"],
            "semanticVersion": doc["version"],
            "rules": rules,
        }},
        "invocations": [invocation],
        "results": results,
        "properties": {
            "tree": doc.get("tree"),
            "baseCommit": doc.get("base_commit"),
            "patches": [{"index": p["index"], "tag": p["tag"], "subject": p["subject"], "commit": p["commit"],
                         "messageId": p["message_id"], "applied": p["applied"]} for p in doc["patches"]],
        },
    }
    if doc.get("shard"):
        # last, so that `sarif-merge` dropping it leaves the unsharded scan's properties as they are
        run["properties"]["shard"] = dict(doc["shard"])
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _rule(kind: str) -> dict[str, Any]:
    info = kind_info(kind)
    help_text = f"{info.explanation}\n\n`patchlint explain {kind}` prints this explanation."
    return {
        "id": kind,
        "name": info.rule_name,
        "shortDescription": {"text": info.summary},
        "fullDescription": {"text": info.explanation},
        "help": {"text": help_text, "markdown": help_text},
        "defaultConfiguration": {"level": LEVEL.get(info.level, "warning")},
        "properties": {"tags": ["locking", "linux-kernel", info.scenario] if info.scenario != "none"
                       else ["linux-kernel"]},
    }


def _physical(file: str | None, line: int | None, snippet: str | None = None) -> dict[str, Any] | None:
    if not file:
        return None
    physical: dict[str, Any] = {"artifactLocation": {"uri": file, "uriBaseId": SRCROOT}}
    if line:
        region: dict[str, Any] = {"startLine": line}
        if snippet is not None:
            region["snippet"] = {"text": snippet}
        physical["region"] = region
    return physical


def _location(file: str | None, line: int | None, message: str | None = None, function: str | None = None,
              snippet: str | None = None) -> dict[str, Any]:
    loc: dict[str, Any] = {}
    if file and file.endswith(SCENARIO_SUFFIX):
        # a step of the scenario's own body: the scenario file is patchlint's (or the user's
        # --scenarios), never a file of the tree %SRCROOT% names, so it is said, not linked
        message = f"{message} (scenario {file}:{line})" if message and line else message
        file = line = None
    physical = _physical(file, line, snippet)
    if physical is not None:
        loc["physicalLocation"] = physical
    if function:
        loc["logicalLocations"] = [{"name": function, "kind": "function"}]
    if message:
        loc["message"] = {"text": message}
    return loc


def _notification(note: dict[str, Any]) -> dict[str, Any]:
    """An ingest or model note; one about a scenario file says where in its text, unlinked."""
    where = f"{note['source']}:{note['line']}" if note.get("line") else note["source"]
    if note["source"].endswith(SCENARIO_SUFFIX):
        return {"level": "note", "message": {"text": f"{note['message']} (scenario {where})"}}
    region = {"region": {"startLine": note["line"]}} if note.get("line") else {}
    return {"level": "note", "message": {"text": note["message"]},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": note["source"]}, **region}}]}


def identity(f: dict[str, Any]) -> str:
    """The finding's identity, or the one the classifier would give it."""
    return f.get("identity") or "|".join([f["kind"], f["file"] or "", f["function"] or "", ",".join(f["locks"]),
                                          f["message"]])


def _step_message(step: dict[str, Any]) -> str:
    state = step.get("state") or []
    return step["event"] + (f" [{'; '.join(state)}]" if state else "")


def _result(doc: dict[str, Any], f: dict[str, Any], rule_index: int) -> dict[str, Any]:
    site = f.get("site") or {}
    result: dict[str, Any] = {
        "ruleId": f["kind"],
        "ruleIndex": rule_index,
        "level": LEVEL.get(f["severity"], "warning"),
        "message": {"text": f["message"]},
        "baselineState": BASELINE.get(f["status"], "new"),
        "partialFingerprints": {FINGERPRINT: hashlib.sha256(identity(f).encode()).hexdigest()},
    }
    location = _location(f["file"], f["line"], function=f.get("function"), snippet=site.get("text"))
    if location:
        result["locations"] = [location]
    flows = [_code_flow(f)] if f.get("trace") else []
    replay = f.get("replay")
    if replay and replay.get("trace"):
        # the interleaving replayed over the tree's own code comes first: it is the evidence
        flows.insert(0, _code_flow({"kind": f["kind"], "trace": replay["trace"]}, "replayed: "))
    if flows:
        result["codeFlows"] = flows
    if replay and replay["verdict"] == "refuted":
        result["suppressions"] = [{"kind": "external", "status": "accepted",
                                   "justification": f"refuted by replay in the model: {replay['reason']}"}]
    if f.get("chain"):
        n = len(f["chain"])
        # lockdep numbers a dependency chain from its far end; an imbalance's evidence is plain steps
        numbered = kind_info(f["kind"]).scenario != "imbalance"
        result["relatedLocations"] = [
            {"id": i + 1, **_location(s.get("file"), s.get("line"),
                                      f"-> #{n - 1 - i}: {_step_message(s)}" if numbered else _step_message(s),
                                      s.get("function"))}
            for i, s in enumerate(f["chain"])
        ]
    patch = next((p for p in doc["patches"] if p["index"] == f["patch"]), None)
    props: dict[str, Any] = {"status": f["status"], "patch": f["patch"]}
    if patch is not None:
        props["patchSubject"] = f"{patch['tag']} {patch['subject']}"
    if site.get("mail_line"):
        props["mailLine"] = site["mail_line"]
    if f.get("locks"):
        props["locks"] = list(f["locks"])
    if f.get("scenario"):
        props["scenario"] = f["scenario"]
    if replay:
        props["replay"] = {"verdict": replay["verdict"], "reason": replay["reason"]}
    result["properties"] = props
    return result


def _code_flow(f: dict[str, Any], title: str = "") -> dict[str, Any]:
    trace = f["trace"]
    flows = []
    for cpu in sorted({s["cpu"] for s in trace}):
        steps = [
            {"location": _location(s.get("file"), s.get("line"), _step_message(s), s.get("function")),
             "executionOrder": order}
            for order, s in enumerate(trace, 1) if s["cpu"] == cpu
        ]
        flows.append({"id": f"CPU{cpu}", "message": {"text": f"CPU{cpu}"}, "locations": steps})
    verdict = kind_info(f["kind"]).verdict
    text = title + f"{len(trace)} steps on {len(flows)} CPUs" + (f": {verdict}" if verdict else "")
    return {"message": {"text": text}, "threadFlows": flows}
