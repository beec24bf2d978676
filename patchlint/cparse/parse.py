"""Parse one file: profile's #if selection, dialect pass, tree-sitter, records out."""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import replace

from patchlint.cparse import tsapi
from patchlint.cparse.defs import CallSite, FunctionDef, Initializer, ParsedFile
from patchlint.cparse.dialect import Rewrite, load_dialect, rewrite
from patchlint.cparse.preproc import PreprocResult
from patchlint.cparse.preproc import run as preprocess
from patchlint.cparse.profile import Profile

MAX_FILE_BYTES = 16 * 1024 * 1024  # generated tables beyond this are skipped, and the report says so
# (an analysis-incomplete finding naming the file: checks.series.unread_files)

_parser = None


def content_id(data: bytes) -> str:
    """git's blob id, so files read from a git tree and from disk share cache entries."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def prepare(data: bytes, defines: dict[str, str],
            dialect_pass: bool = True) -> tuple[bytearray, Rewrite, PreprocResult]:
    """The bytes tree-sitter reads: the profile's #if branches, then (unless turned off
    for comparison) the dialect rewrite, with what each step learnt."""
    buf = bytearray(data)
    pre = preprocess(buf, defines)
    rw = rewrite(buf, load_dialect()) if dialect_pass else Rewrite([], {})
    return buf, rw, pre


def parse_tree(buf: bytes):
    global _parser
    if _parser is None:
        _parser = tsapi.new_parser()
    return _parser.parse(bytes(buf))


def parse_source(path: str, data: bytes, profile: Profile, defines: dict[str, str] | None = None,
                 dialect_pass: bool = True) -> ParsedFile:
    cid = content_id(data)
    if len(data) > MAX_FILE_BYTES:
        size_mb, limit_mb = len(data) // (1024 * 1024), MAX_FILE_BYTES // (1024 * 1024)
        return ParsedFile(path, cid, profile.name, len(data), (), (), (),
                          f"file is {size_mb} MB, over the {limit_mb} MB limit")
    buf, rw, pre = prepare(data, defines if defines is not None else profile.define_map(), dialect_pass)
    macros = tuple(replace(m, file=path) for m in pre.macros)
    tested = tuple(sorted(pre.config_tested))
    tree = parse_tree(buf)
    text = bytes(buf)
    functions = _functions(path, text, tree.root_node, rw)
    bounds = tuple(pre.bounds)
    if pre.bounds_reached > len(pre.bounds):
        bounds += (f"{pre.bounds_reached - len(pre.bounds)} more #if(s) past a bound, taken as false",)
    return ParsedFile(path, cid, profile.name, len(data), functions, macros, tested,
                      initializers=_initializers(text, tree.root_node), bounds=bounds,
                      compiled_out=tuple(pre.compiled_out))


def _initializers(buf: bytes, root) -> tuple[Initializer, ...]:
    out = []
    for m in tsapi.matches(tsapi.query("initializers"), root, max_start_depth=0):
        value = m["init.value"][0]
        out.append(Initializer(_text(buf, m["init.type"][0]), _text(buf, m["init.name"][0]),
                               _text(buf, m["init.field"][0]), " ".join(_text(buf, value).split()),
                               value.start_point[0] + 1))
    return tuple(out)


def _text(buf: bytes, node) -> str:
    return buf[node.start_byte:node.end_byte].decode("utf-8", "replace")


def _functions(path: str, buf: bytes, root, rw: Rewrite) -> tuple[FunctionDef, ...]:
    caps = tsapi.captures(tsapi.query("functions", "calls"), root)
    # captures of two patterns come interleaved, not sorted: order them for bisect
    calls = sorted(caps.get("call.function", []), key=lambda n: n.start_byte)
    # One walk for both queries; definitions do not nest, so their bodies line up.
    defs = zip(sorted(caps.get("function.definition", []), key=lambda n: n.start_byte),
               sorted(caps.get("function.body", []), key=lambda n: n.start_byte), strict=True)
    call_starts = [c.start_byte for c in calls]
    ann_offsets = [a.offset for a in rw.annotations]
    loop_offsets = [a.offset for a in rw.loops]
    out = []
    for node, body in defs:
        found = _declarator(node)
        if found is None:
            continue  # e.g. a macro-made header the dialect tables do not know yet
        name_node, params_node = found
        name = rw.renames.get(name_node.start_byte, _text(buf, name_node))
        lo = bisect.bisect_left(call_starts, body.start_byte)
        hi = bisect.bisect_left(call_starts, body.end_byte)
        sites = []
        for c in calls[lo:hi]:
            direct = c.type == "identifier"
            callee = _text(buf, c) if direct else " ".join(_text(buf, c).split())
            sites.append(CallSite(callee, c.start_point[0] + 1, c.start_byte, not direct))
        # sparse annotations sit between the parameter list and the body
        a_lo = bisect.bisect_left(ann_offsets, params_node.end_byte)
        a_hi = bisect.bisect_left(ann_offsets, body.start_byte)
        head = buf[node.start_byte:name_node.start_byte].decode("utf-8", "replace")
        error_line = _first_error_line(body) if body.has_error else None
        out.append(FunctionDef(
            name=name, file=path, start_line=node.start_point[0] + 1, end_line=node.end_point[0] + 1,
            start_byte=node.start_byte, end_byte=node.end_byte, body_start_byte=body.start_byte,
            return_type=" ".join(head.replace("static", " ").replace("inline", " ").split()),
            params_text=_text(buf, params_node), static=bool(re.search(r"\bstatic\b", head)),
            annotations=tuple(rw.annotations[a_lo:a_hi]), calls=tuple(sites),
            loop_macros=tuple(rw.loops[bisect.bisect_left(loop_offsets, body.start_byte):
                                       bisect.bisect_left(loop_offsets, body.end_byte)]),
            parse_ok=not body.has_error, error_line=error_line,
        ))
    return tuple(out)


def _declarator(node):
    """(name, parameter list) of a definition, under pointer declarators; None if not that shape."""
    decl = node.child_by_field_name("declarator")
    while decl is not None and decl.type in ("pointer_declarator", "attributed_declarator"):
        decl = decl.child_by_field_name("declarator")
    if decl is None or decl.type != "function_declarator":
        return None
    name = decl.child_by_field_name("declarator")
    params = decl.child_by_field_name("parameters")
    if name is None or params is None or name.type != "identifier":
        return None
    return name, params


def _first_error_line(node) -> int | None:
    stack = [node]
    while stack:  # iterative: bodies can nest deeper than Python's recursion limit
        n = stack.pop()
        if n.is_error or n.is_missing:
            return n.start_point[0] + 1
        if n.has_error:
            stack.extend(reversed(n.children))
    return None
