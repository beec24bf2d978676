"""Ingest: series from the mail shapes kernel developers actually have."""

from __future__ import annotations

import pytest

from patchlint.errors import DamagedPatchError
from patchlint.ingest import Input, build_series, read_series
from patchlint.ingest.subject import parse_subject
from patchlint.records import ADDED, REMOVED

from .conftest import SERIES

BASE = "d3b5b9cbcc324be695cedb33eaf3ef8959fe5520"


@pytest.mark.parametrize(
    ("raw", "prefixes", "version", "number", "total", "rfc", "reply", "text"),
    [
        ("[PATCH v2 3/7] mm: fix", ("PATCH",), 2, 3, 7, False, False, "mm: fix"),
        ("[RFC PATCH] s390: mm: x", ("RFC", "PATCH"), 1, None, None, True, False, "s390: mm: x"),
        ("[PATCH RFC v3 00/12] big", ("PATCH", "RFC"), 3, 0, 12, True, False, "big"),
        ("[PATCH net-next 1/2] net: y", ("PATCH", "net-next"), 1, 1, 2, False, False, "net: y"),
        ("[RFC][PATCH 2/2] z", ("RFC", "PATCH"), 1, 2, 2, True, False, "z"),
        ("Re: [PATCH 2/3] mm: q", ("PATCH",), 1, 2, 3, False, True, "mm: q"),
        ("RE: Re: [PATCH] w", ("PATCH",), 1, None, None, False, True, "w"),
        ("plain subject", (), 1, None, None, False, False, "plain subject"),
    ],
)
def test_subject_prefixes(raw, prefixes, version, number, total, rfc, reply, text):
    s = parse_subject(raw)
    assert (s.prefixes, s.version, s.number, s.total, s.is_rfc, s.is_reply, s.text) == (
        prefixes, version, number, total, rfc, reply, text)


def test_three_patch_mbox_with_cover_letter():
    series = read_series([str(SERIES / "three-patches.mbox")])
    assert [p.subject.number for p in series.patches] == [1, 2, 3]
    assert [p.index for p in series.patches] == [1, 2, 3]
    assert series.cover is not None and series.cover.subject.number == 0
    assert series.base_commit == BASE
    first = series.patches[0]
    assert first.author == "Fixture Author <fixture@example.org>"
    assert first.message_id.endswith("@example.org")
    assert first.date.startswith("2012-04-17T10:00:00")
    assert [t.key for t in first.trailers] == ["Signed-off-by"]
    assert first.commit is not None and len(first.commit) == 40
    assert first.patchset is not None  # the unidiff PatchSet rides along
    assert series.notes == ()


def test_shuffled_mbox_is_ordered_and_replies_are_noted():
    series = read_series([str(SERIES / "three-patches-shuffled.mbox")])
    assert [p.subject.number for p in series.patches] == [1, 2, 3]
    messages = [n.message for n in series.notes]
    assert any(m.startswith("reply ignored") for m in messages)
    assert any(m.startswith("mail without a diff ignored") for m in messages)
    # the notes point at the line where each ignored message starts
    text = (SERIES / "three-patches-shuffled.mbox").read_text().split("\n")
    for note in series.notes:
        assert text[note.line - 1].startswith("From ")


def test_directory_of_format_patch_files_matches_mbox():
    from_dir = read_series([str(SERIES / "three-patches")])
    from_mbox = read_series([str(SERIES / "three-patches.mbox")])
    assert [p.files for p in from_dir.patches] == [p.files for p in from_mbox.patches]
    assert [p.subject for p in from_dir.patches] == [p.subject for p in from_mbox.patches]


@pytest.mark.parametrize("name", ["mime-qp.mbox", "mime-base64.mbox", "mime-latin1.mbox", "mime-crlf.mbox",
                                  "attachment.mbox"])
def test_mime_variants_decode_to_the_same_patch(name):
    reference = read_series([str(SERIES / "mime-qp.mbox")]).patches[0]
    patch = read_series([str(SERIES / name)]).patches[0]
    assert patch.author == "Jürgen Müller <juergen@example.org>"
    assert _content(patch) == _content(reference)


def _content(patch):
    return [(f.path, [[(ln.kind, ln.text) for ln in h.lines] for h in f.hunks]) for f in patch.files]


def test_identity_encoded_mail_maps_hunks_to_input_lines():
    patch = read_series([str(SERIES / "single.patch")]).patches[0]
    raw = (SERIES / "single.patch").read_text().split("\n")
    hunk = patch.files[0].hunks[0]
    assert raw[patch.input_line_of(hunk.mail_line) - 1] == hunk.header
    for ln in hunk.lines:
        assert raw[patch.input_line_of(ln.mail_line) - 1][1:] == ln.text


def test_quoted_printable_body_has_no_input_line_mapping():
    patch = read_series([str(SERIES / "mime-qp.mbox")]).patches[0]
    assert patch.body_offset is None
    assert patch.input_line_of(10) is None


def test_mboxrd_from_quoting_is_undone():
    patch = read_series([str(SERIES / "mboxrd-from.mbox")]).patches[0]
    assert len(read_series([str(SERIES / "mboxrd-from.mbox")]).patches) == 1
    assert patch.files and patch.files[0].path == "mm/vmscan.c"


def test_rename_and_delete_are_records_not_errors():
    patch = read_series([str(SERIES / "rename-delete.mbox")]).patches[0]
    by_status = {f.status: f for f in patch.files}
    assert by_status["deleted"].old_path == "Kconfig" and by_status["deleted"].new_path is None
    assert (by_status["renamed"].old_path, by_status["renamed"].new_path) == ("mm/readahead.c", "mm/read_cache.c")


def test_plain_diff_without_headers():
    patch = read_series([str(SERIES / "plain.diff")]).patches[0]
    assert patch.author == "" and patch.files


def test_hunk_lines_carry_both_line_numbers():
    patch = read_series([str(SERIES / "storage-key-rfc.mbox")]).patches[0]
    rmap = next(f for f in patch.files if f.path == "mm/rmap.c")
    for h in rmap.hunks:
        assert sum(1 for ln in h.lines if ln.kind != ADDED) == h.old_count
        assert sum(1 for ln in h.lines if ln.kind != REMOVED) == h.new_count
    assert "propogate_storage_key" in {name for h in rmap.hunks for name in h.functions}


def test_seed_is_diagnosed_as_whitespace_damaged_hunk_by_hunk(seed):
    with pytest.raises(DamagedPatchError) as info:
        read_series([str(seed)])
    err = info.value
    assert "whitespace-damaged" in err.render()
    assert "\n" not in err.render()
    files = [(h.file, h.hunk) for h in err.hunks]
    assert files == [("include/linux/rmap.h", 1), ("mm/memory.c", 1), ("mm/rmap.c", 1), ("mm/rmap.c", 2)]
    assert all(h.reasons for h in err.hunks)
    memory = err.hunks[1]
    assert any("tabs collapsed" in r for r in memory.reasons)
    assert any("do not add up" in r for r in memory.reasons)


def test_seed_lenient_keeps_the_damage_on_each_hunk(seed):
    series = read_series([str(seed)], lenient=True)
    (patch,) = series.patches
    assert patch.subject.is_rfc
    assert patch.author == "Mel Gorman"
    assert [t.key for t in patch.trailers] == ["Signed-off-by"]
    assert all(h.damage is not None for f in patch.files for h in f.hunks)


def test_a_clean_patch_with_collapsed_tabs_only_in_one_hunk_is_still_named():
    clean = (SERIES / "single.patch").read_bytes()
    damaged = clean.replace(b"\n \t", b"\n  ").replace(b"\n+\t", b"\n+ ")
    with pytest.raises(DamagedPatchError) as info:
        build_series([Input("x.patch", damaged)])
    assert any("tabs collapsed" in r for h in info.value.hunks for r in h.reasons)
