"""`patchlint show` as text: patches, files, hunks, where each hunk landed."""

from __future__ import annotations

from typing import Any


def render_show_text(doc: dict[str, Any]) -> str:
    out: list[str] = []
    tree = doc["tree"]
    if tree is None:
        out.append("tree: none (patches not applied; give --tree DIR)")
    else:
        rev = f" at {tree['revision'][:12]}" if tree.get("revision") else ""
        out.append(f"tree: {tree['path']}{rev} (Linux {tree['kernel_version']})")
    if doc.get("base_commit"):
        out.append(f"base-commit: {doc['base_commit']}")
    if doc["cover"]:
        out.append(f"cover: {doc['cover']['tag']} {doc['cover']['subject']}")
    for p in doc["patches"]:
        out.append("")
        out.append(f"{p['tag']} {p['subject']}")
        out.append(f"  From: {p['author'] or '(unknown)'}")
        if p["date"]:
            out.append(f"  Date: {p['date']}")
        if p["message_id"]:
            out.append(f"  Message-Id: <{p['message_id']}>")
        if p["commit"]:
            out.append(f"  Commit: {p['commit']}")
        for t in p["trailers"]:
            out.append(f"  {t['key']}: {t['value']}")
        if p["applied"] is None:
            out.append("  applies: not checked")
        elif p["applied"]:
            out.append("  applies: yes")
        else:
            out.append(f"  applies: NO - {p['apply_error']}")
        for f in p["files"]:
            name = f["new_path"] or f["old_path"]
            if f["status"] == "renamed":
                name = f"{f['old_path']} => {f['new_path']}"
            out.append(f"  {name} ({f['status']}, {len(f['hunks'])} hunk{'s' if len(f['hunks']) != 1 else ''})")
            for h in f["hunks"]:
                header = h["header"].split(" @@")[0] + " @@"
                funcs = f" [{', '.join(h['functions'])}]" if h["functions"] else ""
                out.append(f"    #{h['mail_line']}: hunk {h['index']} {header}{funcs}{_placed(h['apply'])}")
                if h["damage"]:
                    out.append(f"      damaged: {'; '.join(h['damage']['reasons'])}")
    if doc["notes"]:
        out.append("")
        for n in doc["notes"]:
            where = f"{n['source']}:{n['line']}" if n["line"] else n["source"]
            out.append(f"note: {where}: {n['message']}")
    findings = doc["findings"]
    if findings:
        out.append("")
        for f in findings:
            loc = f"{f['file']}:{f['line']}" if f["line"] else (f["file"] or "-")
            out.append(f"{f['severity'].upper()}:{f['kind']}: {loc}: {f['message']}")
    out.append("")
    out.append(f"total: {len(doc['patches'])} patch(es), {len(findings)} finding(s)")
    return "\n".join(out) + "\n"


def _placed(result: dict[str, Any] | None) -> str:
    if result is None:
        return ""
    status = result["status"]
    if status == "failed":
        return " -> FAILED"
    if status == "applied":
        return f" -> line {result['line']}"
    if status == "offset":
        return f" -> line {result['line']} (offset {result['offset']:+d})"
    return f" -> line {result['line']} (recovered, offset {result['offset']:+d})"
