"""Where a model finding is reported: on the patch's line its trace passes through, else at its
event; a scenario's own file is never a location; one finding per hazard and site."""

from __future__ import annotations

from patchlint.explore.placement import _placed, one_per_site
from patchlint.findings import Finding, TraceStep


def _finding(trace: tuple[TraceStep, ...], status: str = "new", scenario: str = "zap-vs-reclaim-add",
             file: str = "arch/s390/include/asm/pgtable.h", line: int = 34) -> Finding:
    return Finding(kind="lost-dirty", status=status, severity="error", patch=1, file=file, line=line,
                   function="page_test_and_clear_dirty", message=f"key cleared (scenario {scenario})",
                   scenario=scenario, trace=trace, identity=f"lost-dirty|{scenario}|page_test_and_clear_dirty")


CLEAR = TraceStep(0, "page_set_storage_key(...)", "arch/s390/include/asm/pgtable.h", 34,
                  "page_test_and_clear_dirty", ("storage key change bit 1->0",),
                  callers=(("mm/memory.c", 52, "zap_pte_range"), ("mm/rmap.c", 54, "propogate_storage_key")))
SPIN = TraceStep(0, "trylock_page(page) = 0", "mm/rmap.c", 77, "propogate_storage_key")
P1 = TraceStep(1, "trylock_page(page) = 1", "grammars/scenarios/x.litmus", 28, "P1")


def patched_lines(lines: set[tuple[str, int]], fixed_lines: set[tuple[str, int]] = frozenset()):
    def patched(fixed: bool, file: str | None, line: int | None) -> bool:
        return (file, line) in (fixed_lines if fixed else lines)
    return patched


def test_a_hazard_reached_through_a_line_the_patch_adds_is_reported_there():
    f = _placed(_finding((P1, CLEAR, SPIN)), patched_lines({("mm/rmap.c", 54), ("mm/rmap.c", 77)}))
    # the innermost call the hazard's event was reached through, not a later step of the trace
    assert (f.file, f.line, f.function) == ("mm/rmap.c", 54, "propogate_storage_key")
    assert f.message == ("key cleared, in page_test_and_clear_dirty() at arch/s390/include/asm/pgtable.h:34 "
                         "(scenario zap-vs-reclaim-add)")


def test_without_the_call_through_the_patch_the_nearest_patch_line_of_the_trace_is_used():
    f = _placed(_finding((P1, CLEAR, SPIN)), patched_lines({("mm/rmap.c", 77)}))
    assert (f.file, f.line) == ("mm/rmap.c", 77)


def test_a_trace_that_does_not_pass_through_the_patch_stays_at_its_event():
    f = _finding((P1, CLEAR, SPIN))
    assert _placed(f, patched_lines(set())) == f


def test_a_fixed_hazard_is_placed_on_a_line_the_patch_removes():
    f = _finding((P1, CLEAR), status="fixed")
    moved = _placed(f, patched_lines({("mm/rmap.c", 54)}, fixed_lines={("mm/memory.c", 52)}))
    assert (moved.file, moved.line) == ("mm/memory.c", 52)


def test_a_scenario_file_is_never_the_location():
    f = _finding((P1, SPIN), file="grammars/scenarios/x.litmus", line=28)
    moved = _placed(f, patched_lines(set()))
    assert (moved.file, moved.line) == ("mm/rmap.c", 77)


def test_scenarios_showing_one_hazard_at_one_site_are_one_finding():
    a = _finding((P1, CLEAR, SPIN), scenario="zap-vs-swapin-reuse")
    b = _finding((CLEAR,), scenario="zap-vs-reclaim-swapcache")
    other = _finding((CLEAR,), scenario="zap-vs-truncation", line=35)
    merged = one_per_site([a, b, other])
    assert len(merged) == 2
    one = merged[0]
    assert one.scenarios == ("zap-vs-reclaim-swapcache", "zap-vs-swapin-reuse")
    assert one.message == "key cleared (scenarios zap-vs-reclaim-swapcache, zap-vs-swapin-reuse)"
    assert one.trace == (CLEAR,)  # the shortest interleaving that shows it
    assert merged[1].scenarios == ("zap-vs-truncation",)
