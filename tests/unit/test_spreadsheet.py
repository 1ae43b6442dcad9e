"""One rule keeps every CSV the kit writes inert in a spreadsheet (autograder/outputs/spreadsheet.py): past
invisible characters at its front, a field starting with = + - @ (or a tab or carriage return) is shown as
text. Fuzzed over arbitrary text (Hypothesis, derandomized)."""
import csv
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.outputs.spreadsheet import spreadsheet_safe, write_csv

TEXT_EXAMPLES = 2000
ROWS_EXAMPLES = 200
DETERMINISTIC = dict(derandomize=True, database=None, deadline=None)
# text that leads with what spreadsheets skip or run, to be drawn often
FRONTS = st.lists(st.sampled_from(["\ufeff", " ", "\u00a0", "\u200b", "\u202e", "\u2066", "\t", "\r", "\n", "\x00",
                                   "\x1b", "\u0301", "\u3000", "=", "+", "-", "@", "'", '"', "1"]), max_size=6)


def would_run(field):
    """What a spreadsheet runs as a formula: a tab or carriage return anywhere in the field (they end up
    at a cell's front), or a first visible character (a letter, number, punctuation or symbol: Unicode
    categories L, N, P, S) that is = + - or @, unless the field starts with the quote that makes it text."""
    if "\t" in field or "\r" in field:
        return True
    visible = [c for c in field if unicodedata.category(c)[0] in "LNPS"]
    return bool(visible) and visible[0] in "=+-@" and not field.startswith("'")


@pytest.mark.parametrize("payload", [
    "=1+1", "+1", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0", "=HYPERLINK(\"http://x\",\"y\")", "\ufeff=1+1", " =2+2",
    "\t=1", "\r=1", "\u200b=1", "\u202e=1", "\u00a0@x", "\n-1", "\x00=1", "\u3000+1", "\u0301-1", "\ufeff \u200b\t=1"])
def test_formulas_behind_invisible_characters_are_shown_as_text(payload):
    safe = spreadsheet_safe(payload)
    assert safe.startswith("'") and not would_run(safe), repr(safe)


def test_harmless_text_and_numbers_stay_as_they_are():
    for value in ["Lovelace, Ada", "a-b", "x = 1", "", "    Points Possible", "naïve — ok", "'quoted"]:
        assert spreadsheet_safe(value) == value
    for number in [3, -2.5, 0, 39, 29.62, None]:
        assert spreadsheet_safe(number) is number  # -2.5 stays a number: spreadsheets read it as one
    assert spreadsheet_safe("a\x1b[2Jb\nc") == "a[2Jb c"  # a terminal escape loses its control character


@settings(max_examples=TEXT_EXAMPLES, **DETERMINISTIC)
@given(st.tuples(FRONTS, st.text()).map(lambda drawn: "".join(drawn[0]) + drawn[1]))
def test_nothing_a_spreadsheet_would_run_survives(text):
    safe = spreadsheet_safe(text)
    assert not would_run(safe)
    assert not any(unicodedata.category(c) == "Cc" for c in safe)
    kept = "".join(c if c not in "\r\n" else " " for c in text if c in "\r\n" or unicodedata.category(c) != "Cc")
    assert safe in (kept, "'" + kept)  # the text itself is kept: only controls go, and a quote may come first


@settings(max_examples=ROWS_EXAMPLES, **DETERMINISTIC)
@given(st.lists(st.lists(st.one_of(st.text(), st.integers(), st.floats(allow_nan=False)), min_size=3, max_size=3),
                max_size=5))
def test_every_field_of_a_written_csv_is_inert_and_numbers_read_back_as_numbers(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("csv") / "table.csv"
    write_csv(path, ["=a", "b", "c"], [{"=a": a, "b": b, "c": c} for a, b, c in rows])
    with open(path, newline="", encoding="utf-8") as file:
        read = list(csv.reader(file))
    assert read[0] == ["'=a", "b", "c"] and len(read) == len(rows) + 1
    for written, back in zip(rows, read[1:]):
        for value, field in zip(written, back):
            if isinstance(value, str):
                assert field == spreadsheet_safe(value) and not would_run(field)
            else:
                assert (int if isinstance(value, int) else float)(field) == value


def test_a_csv_is_written_whole_or_not_at_all(tmp_path):
    class Unwritable:
        def __str__(self):
            raise RuntimeError("disk full")

    path = tmp_path / "grades.csv"
    write_csv(path, ["student"], [{"student": "alice"}])
    with pytest.raises(RuntimeError):
        write_csv(path, ["student"], [{"student": "bob"}, {"student": Unwritable()}])
    assert path.read_bytes() == b"student\r\nalice\r\n"
    assert [p.name for p in tmp_path.iterdir()] == ["grades.csv"]
