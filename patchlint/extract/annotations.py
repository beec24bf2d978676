"""sparse's lock annotations on a function, as lock classes: `__acquires(x)` (returns holding x
on every path), `__releases(x)` (entered holding x, returns without it), `__must_hold(x)`
(entered holding x and returns holding it), `__cond_acquires(x)` (returns holding x on the
paths its result says).  The dialect pass remembers them per function (cparse.dialect); this
names the lock each one means the way the walk names locks (extract.lockclass), so `ptl` is the
caller's argument, `&mm->page_table_lock` is `mm->page_table_lock`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from patchlint.cparse import ir
from patchlint.cparse.defs import FunctionDef
from patchlint.extract.facts import Held
from patchlint.extract.lockclass import LockNames
from patchlint.extract.sink import Outcome
from patchlint.extract.vocab import Vocabulary

_SIMPLE = re.compile(r"\s*(&?)\s*([A-Za-z_]\w*)((?:\s*(?:->|\.)\s*[A-Za-z_]\w*)*)\s*$")
_STEP = re.compile(r"(->|\.)\s*([A-Za-z_]\w*)")


@dataclass(frozen=True)
class Said:
    """One annotation: `__acquires(&ci->lock)` is ("__acquires", "&ci->lock", the class)."""

    name: str
    text: str
    cls: str


@dataclass(frozen=True)
class LockContract:
    """What a function's annotations say of its locks, as classes (`@paramN` for a lock its
    caller names)."""

    said: tuple[Said, ...] = ()

    def _of(self, name: str) -> tuple[str, ...]:
        return tuple(s.cls for s in self.said if s.name == name)

    @property
    def acquires(self) -> tuple[str, ...]:
        return self._of("__acquires")

    @property
    def releases(self) -> tuple[str, ...]:
        return self._of("__releases")

    @property
    def must_hold(self) -> tuple[str, ...]:
        return self._of("__must_hold")

    @property
    def cond_acquires(self) -> tuple[str, ...]:
        return self._of("__cond_acquires")

    @property
    def declared(self) -> bool:
        return bool(self.said)

    @property
    def entry(self) -> tuple[str, ...]:
        """The classes the function is entered holding."""
        return tuple(dict.fromkeys(self.releases + self.must_hold))

    def about(self, cls: str) -> Said | None:
        """The annotation that speaks of `cls`: by class, or (a lock it names through a local
        whose type the annotation cannot show, `&ci->lock`) by the lock's member name."""
        exact = next((s for s in self.said if s.cls == cls), None)
        if exact is not None:
            return exact
        member = cls.split("->")[-1].split(".")[-1]
        return next((s for s in self.said if re.search(rf"(?:->|\.|\b){re.escape(member)}\s*$", s.text)), None)

    def says(self, cls: str) -> bool:
        return self.about(cls) is not None


def lock_contract(fn: FunctionDef, vocab: Vocabulary, global_types: Callable[[str], str | None]) -> LockContract:
    """The function's annotations, each argument named as a lock class."""
    if not fn.annotations:
        return LockContract()
    names = LockNames(vocab, ir.Body(fn.name, fn.file, ir.Block(fn.start_line, ()), True),
                      [(p.type, p.name) for p in fn.params()], global_types)
    said = []
    for a in fn.annotations:
        if a.name not in ("__acquires", "__releases", "__must_hold", "__cond_acquires"):
            continue
        arg = _expression(a.argument, fn.start_line)
        said.append(Said(a.name, a.argument, names._arg_class(arg) if arg is not None else a.argument))
    return LockContract(tuple(said))


def _expression(text: str, line: int) -> ir.Expr | None:
    """`&mm->page_table_lock`, `ptl`, `x.lock` as the IR the walk names locks from."""
    m = _SIMPLE.match(text)
    if m is None:
        return None
    e: ir.Expr = ir.Name(line, m.group(2))
    for op, member in _STEP.findall(m.group(3)):
        e = ir.Field(line, e, member, op == "->")
    return ir.Unary(line, "&", e) if m.group(1) else e


def annotated_outcomes(fn: FunctionDef, contract: LockContract, walked: list[Outcome]) -> list[Outcome]:
    """What a call of an annotated function does to its caller's locks, as sparse reads it: by its
    annotation (`__acquires(x)`: it returns holding x; `__releases(x)`: without it;
    `__cond_acquires(x)`: holding x where it returns true), a hand-off its caller follows.  Where
    the walk of its body agrees, the walk's record stands (its kind, where it is taken, what
    else it does to the caller's locks); where the walk found nothing to go by, the annotation."""
    if walked:
        # (the walk's classes are the ones the code names; an annotation may name the same lock
        # otherwise -- `__acquires(rq->lock)` over `raw_spin_rq_lock(rq)`, rq->__lock)
        return [replace(o, told=True, said=True) for o in walked]
    found = {h.cls: h for o in walked for h in o.added}

    def held(cls: str) -> Held:
        return found.get(cls) or Held(cls, "annotated", "lock", fn.file, fn.start_line, fn.name, False)

    added = tuple(held(c) for c in contract.acquires)
    if contract.cond_acquires:
        return [Outcome(added + tuple(held(c) for c in contract.cond_acquires), contract.releases, True, None,
                        told=True, said=True),
                Outcome(added, contract.releases, False, None, told=True, said=True)]
    kept = [h for o in walked for h in o.added if not contract.says(h.cls)]
    return [Outcome(added + tuple(dict.fromkeys(kept)), contract.releases, None, None, told=True, said=True)]
