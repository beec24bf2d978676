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


def render_text(doc: dict[str, Any], color: bool = False, show_refuted: bool = False,
                show_existing: bool = False, verbose: bool = False) -> str:
    """The report.  Per patch the findings at one line are one entry (every label, one
    lockdep block), new errors first, then new warnings, then what the patch fixes; existing
    findings are counted and shown only with `show_existing`, findings the replay refuted only
    with `show_refuted`; a model interleaving is cut to the steps that change what it shows
    unless `verbose`."""
    out: list[str] = []
    by_patch: dict[int | None, list[dict[str, Any]]] = {}
    for f in doc["findings"]:
        by_patch.setdefault(f["patch"], []).append(f)
    indices = {p["index"] for p in doc["patches"]}
    series_totals = _zero()

    def section(title: str, mine: list[dict[str, Any]]) -> None:
        out.append(_bold(title, color))
        shown = [f for f in mine if (show_refuted or not _refuted(f)) and (show_existing or f["status"] != "existing")]
        for group in _groups(shown):
            out.extend(_entry(group, color, verbose))
        totals = _count(mine)
        _add(series_totals, totals)
        out.append(_total_line("total", totals, existing_hidden=not show_existing))
        out.append("")

    for p in doc["patches"]:
        section(f"{p['tag']} {p['subject']}", by_patch.get(p["index"], []))
    stray = [f for key, fs in by_patch.items() if key not in indices for f in fs]
    if stray:
        section("[series]", stray)
    n = len(doc["patches"])
    out.append(_total_line("series total", series_totals) + f" in {n} patch{'es' if n != 1 else ''}")
    return "\n".join(out) + "\n"


def _refuted(f: dict[str, Any]) -> bool:
    return (f.get("replay") or {}).get("verdict") == "refuted"


_RANK = {"error": 0, "warning": 1, "check": 2}


def _groups(findings: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Findings at one line of one status, as one entry: one acquisition is often an inversion,
    a spin, a documented-order violation and a model livelock at once.  New before fixed before
    existing, most severe first, then in the document's (file, line) order; inside an entry the
    most severe label first, a replay-confirmed one before the others of its severity."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for f in findings:
        key = (f["status"], f["file"], f["line"]) if f["file"] and f["line"] else (f["status"], id(f))
        groups.setdefault(key, []).append(f)
    ordered = []
    for n, group in enumerate(groups.values()):
        group.sort(key=_member_rank)
        worst = min(_RANK.get(f["severity"], 3) for f in group)
        status = STATUS_ORDER.get(group[0]["status"], 3)
        ordered.append(((status, worst if status != STATUS_ORDER["fixed"] else 0, n), group))
    return [g for _, g in sorted(ordered, key=lambda item: item[0])]


def _member_rank(f: dict[str, Any]) -> tuple:
    confirmed = (f.get("replay") or {}).get("verdict") == "confirmed"
    return (_RANK.get(f["severity"], 3), not confirmed, not (f.get("chain") or f.get("trace")))


def _zero() -> dict[str, int]:
    return {"error": 0, "warning": 0, "check": 0, "fixed": 0, "existing": 0, "refuted": 0}


def _count(findings: list[dict[str, Any]]) -> dict[str, int]:
    """What a patch brings, by severity; what it fixes, what it leaves and what the replay
    refuted, counted apart (none of them is the patch's to answer for)."""
    totals = _zero()
    for f in findings:
        bucket = "refuted" if _refuted(f) else f["status"] if f["status"] in ("fixed", "existing") else f["severity"]
        totals[bucket] += 1
    return totals


def _add(into: dict[str, int], more: dict[str, int]) -> None:
    for k, v in more.items():
        into[k] += v


def _total_line(label: str, t: dict[str, int], existing_hidden: bool = False) -> str:
    line = f"{label}: {t['error']} errors, {t['warning']} warnings, {t['check']} checks"
    more = [f"{t['fixed']} fixed"] * bool(t["fixed"])
    if t["existing"]:
        more.append(f"{t['existing']} existing" + (", not shown: --show-existing" if existing_hidden else ""))
    more += [f"{t['refuted']} refuted by replay"] * bool(t["refuted"])
    return line + (f" ({', '.join(more)})" if more else "")


def _bold(text: str, color: bool) -> str:
    return f"{_BOLD}{text}{_RESET}" if color else text


def _head(f: dict[str, Any], color: bool) -> str:
    info = kind_info(f["kind"])
    level = "FIXED" if f["status"] == "fixed" else LEVEL.get(f["severity"], f["severity"].upper())
    message = f["message"] + (" (existing)" if f["status"] == "existing" else "")
    if color:
        return f"{_COLOURS.get(level, '')}{level}:{_BLUE}{info.type_name}:{_RESET} {message}"
    return f"{level}:{info.type_name}: {message}"


def _entry(group: list[dict[str, Any]], color: bool, verbose: bool) -> list[str]:
    """One line's findings: every label, the line as checkpatch shows it, then the evidence
    of the first label that has some (its lockdep block, or the replayed interleaving) and what
    the replay said of each; with `verbose`, every label's evidence in full."""
    out = [_head(f, color) for f in group]
    f = group[0]
    site = f.get("site")
    if f["file"]:
        where = f"{f['file']}:{f['line']}:" if f["line"] else f"{f['file']}:"
        mail = f"#{site['mail_line']}: " if site and site.get("mail_line") else ""
        out.append(f"{mail}FILE: {where}")
        if site and site.get("text") is not None:
            prefix = site.get("diff") or " "
            out.append(site["text"] if prefix == "@@" else prefix + site["text"])
    shown_block = shown_table = False
    left_out = 0
    for member in group:
        info = kind_info(member["kind"])
        has_block = bool(member.get("chain") or member.get("trace"))
        replay = member.get("replay") or {}
        replayed = replay.get("trace") if replay.get("verdict") == "confirmed" else None
        # a confirmed replay's interleaving is the tree's own events: lockdep's scenario table
        # shows it in place of the static one, not as a second table
        in_block = bool(replayed) and info.scenario in ("circular", "recursive") and bool(member.get("trace"))
        if has_block and (verbose or not shown_block):
            out.append("")
            out.extend(_scenario(member | {"trace": replayed} if in_block else member, info, verbose, in_block))
            shown_block = True
            shown_table = shown_table or in_block
        elif has_block:
            left_out += 1
        if replay:
            out.append("")
            table = bool(replay.get("trace")) and (verbose or not shown_table) and not in_block
            out.extend(_replay(replay, table, prefix="" if len(group) == 1 else f"{info.type_name}: "))
            shown_table = shown_table or table
    if left_out:
        out.append("")
        out.append(f"({left_out} more interleaving{'s' if left_out != 1 else ''} of this line: --verbose)")
    out.append("")
    return out


def _replay(replay: dict[str, Any], table: bool = True, prefix: str = "") -> list[str]:
    """What replaying the finding's paths in the model said, and for a confirmed one the
    interleaving of the tree's own events, CPU by CPU."""
    out = [f"replayed: {prefix}{replay['verdict']}: {replay['reason']}"]
    trace = replay.get("trace") or []
    if trace and table:
        out.append("")
        out.extend(_table(trace))
        out.append("")
        out.append(" where:")
        for n, s in enumerate(trace, 1):
            at = _at(s)
            out.append(f"  {n:>2}. CPU{s['cpu']} {s['event']}" + (f" at {at}" if at else ""))
    return out


def _telling(numbered: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, dict[str, Any]]]:
    """The steps of a model interleaving that explain its hazard: those that change the state
    the hazard is about (a lock taken or released, a flag, a mapping, the storage key, a lock
    found busy), and the last one, where the hazard shows.  A repeat of the step before it on
    the same CPU (a spin's retries) is shown once."""
    out: list[tuple[int, dict[str, Any]]] = []
    last = len(numbered) - 1
    for i, (n, s) in enumerate(numbered):
        if not (s.get("state") or i == last):
            continue
        if out and i != last and (out[-1][1]["cpu"], out[-1][1]["event"], out[-1][1].get("state")) == \
                (s["cpu"], s["event"], s.get("state")):
            continue
        out.append((n, s))
    return out


def _lock_of(event: str) -> str:
    m = _LOCK_EVENT.search(event.strip())
    return m.group(1) if m else event.strip()


def _at(step: dict[str, Any]) -> str:
    """Where a step happened: a function and its line in the tree; a step of a scenario's own
    body (a .litmus file, not the tree's) is named by its scenario thread, never located."""
    parts = []
    if (step.get("file") or "").endswith(".litmus"):
        name = step["file"].rsplit("/", 1)[-1].removesuffix(".litmus")
        return f"{step['function']}() of scenario {name}" if step.get("function") else f"scenario {name}"
    if step.get("function"):
        parts.append(f"{step['function']}()")
    if step.get("file"):
        parts.append(f"{step['file']}:{step['line']}" if step.get("line") else step["file"])
    return " ".join(parts)


def _scenario(f: dict[str, Any], info, verbose: bool = True, replayed: bool = False) -> list[str]:
    """lockdep's report shape, from the finding's locks, chain and trace (`replayed`: the trace
    is the replay's interleaving of the tree's events); a model scenario's interleaving cut to
    its telling steps unless `verbose`."""
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
            out.append(" Possible unsafe locking scenario" + (" (replayed over the tree's code):" if replayed else ":"))
        else:
            out.append(" Replayed interleaving:")
        out.append("")
        numbered = list(enumerate(trace, 1))
        if f.get("scenario") and not verbose:
            numbered = _telling(numbered)
        out.extend(_table([s for _, s in numbered]))
        if any(_at(s) or s.get("state") for s in trace):
            out.append("")
            out.append(" where:")
            for n, s in numbered:
                at = _at(s)
                out.append(f"  {n:>2}. CPU{s['cpu']} {s['event']}" + (f" at {at}" if at else ""))
                out.extend(f"        [{st}]" for st in s.get("state") or [])
        if len(numbered) < len(trace):
            out.append(f"  ({len(trace) - len(numbered)} steps that change nothing shown here left out: --verbose)")
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
    # sparse's own words for which rule it is, where the checker gives them (checks.imbalance)
    said = re.search(r"\(sparse: context imbalance - ([^)]*)\)$", f.get("message") or "")
    if f.get("kind") == "double-unlock":
        out = [f"double unlock in {who}:"]
    else:
        out = [f"context imbalance in {who} - {said.group(1) if said else 'different lock contexts at return'}:"]
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
