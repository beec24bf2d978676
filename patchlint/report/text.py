"""`--format text`: the report for people, in the shapes kernel developers read.

Per patch a header (`[PATCH 2/5] subject`), then each finding as checkpatch
prints one (`WARNING:SPIN_ON_TRYLOCK: message`, `#N: FILE: path:line:`, the
offending `+` line), followed, when the finding carries a lock chain or a
trace, by a lockdep-style block: the "possible circular locking dependency"
report with its dependency chain and the " Possible unsafe locking scenario:"
CPU0/CPU1 table, or the replayed interleaving for a model hazard.  A total per
patch and for the series.  A pure function of the JSON document; colour only
when the caller asks for it (the CLI does when stdout is a terminal).
"""

from __future__ import annotations

import re
from typing import Any

from patchlint.report.kinds import kind_info

LEVEL = {"error": "ERROR", "warning": "WARNING", "check": "CHECK"}
STATUS_ORDER = {"new": 0, "existing": 1, "fixed": 2}

# checkpatch's colours (Term::ANSIColor): the level, then the type in blue.
_COLOURS = {"ERROR": "\x1b[31m", "WARNING": "\x1b[33m", "CHECK": "\x1b[32m", "FIXED": "\x1b[32m"}
_BLUE = "\x1b[34m"
_BOLD = "\x1b[1m"
_RESET = "\x1b[0m"

# lockdep's table: CPU0's steps start at column 2, CPU1's at 31; headers at 7 and 31.
_FIRST_COLUMN = 2
_HEADER_COLUMN = 7
_COLUMN_STEP = 24

_LOCK_EVENT = re.compile(r"\(([^()]+)\)\s*;?$")  # the lock in "lock(pte_lock)", "spin on trylock(page_lock)"
_CHAIN_ENTRY = re.compile(r"^-> #(\d+) \((.*?)\):\s*(.*)$", re.DOTALL)


def render_text(doc: dict[str, Any], color: bool = False, show_refuted: bool = False) -> str:
    """The report; a finding the model's replay refuted is counted, and shown only when asked."""
    out: list[str] = []
    by_patch: dict[int | None, list[dict[str, Any]]] = {}
    for f in doc["findings"]:
        by_patch.setdefault(f["patch"], []).append(f)
    indices = {p["index"] for p in doc["patches"]}
    series_totals = _zero()

    def shown(fs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return fs if show_refuted else [f for f in fs if not _refuted(f)]

    for p in doc["patches"]:
        out.append(_bold(f"{p['tag']} {p['subject']}", color))
        mine = by_patch.get(p["index"], [])
        out.extend(_findings(shown(mine), color))
        totals = _count(mine)
        _add(series_totals, totals)
        out.append(_total_line("total", totals))
        out.append("")
    stray = [f for key, fs in by_patch.items() if key not in indices for f in fs]
    if stray:
        out.append(_bold("[series]", color))
        out.extend(_findings(shown(stray), color))
        totals = _count(stray)
        _add(series_totals, totals)
        out.append(_total_line("total", totals))
        out.append("")
    n = len(doc["patches"])
    out.append(_total_line("series total", series_totals) + f" in {n} patch{'es' if n != 1 else ''}")
    return "\n".join(out) + "\n"


def _refuted(f: dict[str, Any]) -> bool:
    return (f.get("replay") or {}).get("verdict") == "refuted"


def _zero() -> dict[str, int]:
    return {"error": 0, "warning": 0, "check": 0, "fixed": 0, "refuted": 0}


def _count(findings: list[dict[str, Any]]) -> dict[str, int]:
    totals = _zero()
    for f in findings:
        totals["fixed" if f["status"] == "fixed" else "refuted" if _refuted(f) else f["severity"]] += 1
    return totals


def _add(into: dict[str, int], more: dict[str, int]) -> None:
    for k, v in more.items():
        into[k] += v


def _total_line(label: str, t: dict[str, int]) -> str:
    line = f"{label}: {t['error']} errors, {t['warning']} warnings, {t['check']} checks"
    more = [f"{t['fixed']} fixed"] * bool(t["fixed"]) + [f"{t['refuted']} refuted by replay"] * bool(t["refuted"])
    return line + (f" ({', '.join(more)})" if more else "")


def _bold(text: str, color: bool) -> str:
    return f"{_BOLD}{text}{_RESET}" if color else text


def _findings(findings: list[dict[str, Any]], color: bool) -> list[str]:
    out: list[str] = []
    ordered = sorted(enumerate(findings), key=lambda item: (STATUS_ORDER.get(item[1]["status"], 3), item[0]))
    for _, f in ordered:
        out.extend(_finding(f, color))
    return out


def _finding(f: dict[str, Any], color: bool) -> list[str]:
    info = kind_info(f["kind"])
    level = "FIXED" if f["status"] == "fixed" else LEVEL.get(f["severity"], f["severity"].upper())
    message = f["message"] + (" (existing)" if f["status"] == "existing" else "")
    if color:
        head = f"{_COLOURS.get(level, '')}{level}:{_BLUE}{info.type_name}:{_RESET} {message}"
    else:
        head = f"{level}:{info.type_name}: {message}"
    out = [head]
    site = f.get("site")
    if f["file"]:
        where = f"{f['file']}:{f['line']}:" if f["line"] else f"{f['file']}:"
        mail = f"#{site['mail_line']}: " if site and site.get("mail_line") else ""
        out.append(f"{mail}FILE: {where}")
        if site and site.get("text") is not None:
            prefix = site.get("diff") or " "
            out.append(site["text"] if prefix == "@@" else prefix + site["text"])
    if f.get("chain") or f.get("trace"):
        out.append("")
        out.extend(_scenario(f, info))
    if f.get("replay"):
        out.append("")
        out.extend(_replay(f["replay"]))
    out.append("")
    return out


def _replay(replay: dict[str, Any]) -> list[str]:
    """What replaying the finding's paths in the model said, and for a confirmed one the
    interleaving of the tree's own events, CPU by CPU."""
    out = [f"replayed: {replay['verdict']}: {replay['reason']}"]
    trace = replay.get("trace") or []
    if trace:
        out.append("")
        out.extend(_table(trace))
        out.append("")
        out.append(" where:")
        for n, s in enumerate(trace, 1):
            at = _at(s)
            out.append(f"  {n:>2}. CPU{s['cpu']} {s['event']}" + (f" at {at}" if at else ""))
    return out


def _lock_of(event: str) -> str:
    m = _LOCK_EVENT.search(event.strip())
    return m.group(1) if m else event.strip()


def _at(step: dict[str, Any]) -> str:
    parts = []
    if step.get("function"):
        parts.append(f"{step['function']}()")
    if step.get("file"):
        parts.append(f"{step['file']}:{step['line']}" if step.get("line") else step["file"])
    return " ".join(parts)


def _scenario(f: dict[str, Any], info) -> list[str]:
    """lockdep's report shape, from the finding's locks, chain and trace."""
    out: list[str] = []
    circular = info.scenario == "circular"
    recursive = info.scenario == "recursive"
    trace = f.get("trace") or []
    if recursive and trace:
        return _recursive(f, trace, info)
    if info.scenario == "imbalance" and f.get("chain"):
        return _imbalance(f, f["chain"])
    if circular:
        title = "WARNING: possible circular locking dependency detected"
        out += ["=" * len(title), title, "-" * len(title)]
        locks = f.get("locks") or []
        if len(locks) >= 2:
            who = f"{f['function']}()" if f.get("function") else "task"
            where = f", at: {f['file']}:{f['line']}" if f.get("file") and f.get("line") else ""
            out.append(f"{who} is trying to acquire lock:")
            out.append(f" ({locks[-1]}){where}")
            out.append("")
            out.append("but task is already holding lock:" if len(locks) == 2 else "but task is already holding locks:")
            out.extend(f" ({lock})" for lock in locks[:-1])
            out.append("")
            out.append("which lock already depends on the new lock.")
            out.append("")
    chain = f.get("chain") or []
    if chain:
        out.append("")
        out.append("the existing dependency chain (in reverse order) is:" if circular else "the lock chain is:")
        for i, step in enumerate(chain):
            out.append("")
            m = _CHAIN_ENTRY.match(step["event"])
            if m:  # the analysis wrote lockdep's entry line itself: "-> #1 (pte_lock): lock(pte_lock) while ..."
                number, lock, detail = m.group(1), m.group(2), m.group(3)
            else:
                number, lock, detail = str(len(chain) - 1 - i), _lock_of(step["event"]), step["event"]
            out.append(f"-> #{number} ({lock}):")
            if detail and detail != lock:
                out.append(f"       {detail}")
            at = _at(step)
            if at:
                out.append(f"       {at}")
            out.extend(f"       [{s}]" for s in step.get("state") or [])
        out.append("")
    if trace:
        if circular:
            out.append("other info that might help us debug this:")
            out.append("")
            out.append(" Possible unsafe locking scenario:")
        else:
            out.append(" Replayed interleaving:")
        out.append("")
        out.extend(_table(trace))
        if any(_at(s) or s.get("state") for s in trace):
            out.append("")
            out.append(" where:")
            for n, s in enumerate(trace, 1):
                at = _at(s)
                out.append(f"  {n:>2}. CPU{s['cpu']} {s['event']}" + (f" at {at}" if at else ""))
                out.extend(f"        [{st}]" for st in s.get("state") or [])
        if info.verdict:
            out.append("")
            out.append(f" *** {info.verdict} ***")
    while out and out[-1] == "":
        out.pop()
    return out


def _recursive(f: dict[str, Any], trace: list[dict[str, Any]], info) -> list[str]:
    """lockdep's "possible recursive locking detected" block: the lock wanted, the same lock
    held, and the one-CPU scenario."""
    title = "WARNING: possible recursive locking detected"
    lock = (f.get("locks") or [_lock_of(trace[-1]["event"])])[-1]
    first, second = trace[0], trace[-1]
    out = ["=" * len(title), title, "-" * len(title),
           f"{f['function']}() is trying to acquire lock:" if f.get("function") else "task is trying to acquire lock:",
           f" ({lock}), at: {_at(second)}", "", "but task is already holding lock:", f" ({lock}), at: {_at(first)}",
           "", "other info that might help us debug this:", " Possible unsafe locking scenario:", ""]
    out.extend(_table(trace))
    out += ["", f" *** {info.verdict or 'DEADLOCK'} ***", "", " May be due to missing lock nesting notation"]
    return out


def _imbalance(f: dict[str, Any], chain: list[dict[str, Any]]) -> list[str]:
    """sparse's "context imbalance" warning, with the paths it does not name: where the lock
    was taken, a return that holds it and one that does not."""
    who = f"'{f['function']}'" if f.get("function") else "this function"
    out = [f"context imbalance in {who} - different lock contexts at return:"]
    width = max(len(s["event"]) for s in chain)
    out.extend(f"  {s['event'].ljust(width)}  at {_at(s)}" for s in chain)
    return out


def _table(trace: list[dict[str, Any]]) -> list[str]:
    cpus = max(s["cpu"] for s in trace) + 1
    header = " " * _HEADER_COLUMN
    rule = " " * _HEADER_COLUMN
    for k in range(cpus):
        col = _HEADER_COLUMN + _COLUMN_STEP * k
        header = header.ljust(col) + f"CPU{k}"
        rule = rule.ljust(col) + "-" * len(f"CPU{k}")
    rows = [header, rule]
    for s in trace:
        col = _FIRST_COLUMN if s["cpu"] == 0 else _HEADER_COLUMN + _COLUMN_STEP * s["cpu"]
        event = s["event"].rstrip(";")
        rows.append(" " * col + event + ";")
    return rows
