"""The one rule that keeps the kit's CSV files inert in a spreadsheet, and the one writer of every CSV the kit
writes (grades.csv, canvas.csv).

OWASP's CSV-injection guidance: a spreadsheet runs a field as a formula when it starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return, and spreadsheets look past what is invisible in front of it
(byte-order marks, spaces, zero-width and bidi marks, control characters). The rule, by characters'
Unicode categories rather than by a list of tricks:

1. control characters go everywhere (a terminal escape, a tab), line breaks become spaces (one record per
   line);
2. then, past any invisible characters at its front (Unicode categories C, Z and M: controls, format
   characters such as U+FEFF and U+202E, spaces, combining marks), a field whose first character is
   ``=``, ``+``, ``-`` or ``@`` gets a leading ``'``, which makes a spreadsheet show it as text.

Numbers (int, float) stay numbers; ``None`` is an empty field.
"""
import csv
import re
import unicodedata
from pathlib import Path

FORMULA_STARTS = ("=", "+", "-", "@")
INVISIBLE_CATEGORIES = ("C", "Z", "M")  # first letters of Unicode general categories
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def spreadsheet_safe(value):
    """``value`` as a field no spreadsheet runs (the module's rule): str -> str; anything else unchanged."""
    if not isinstance(value, str):
        return value
    value = CONTROL_CHARACTERS.sub("", value.replace("\r", " ").replace("\n", " "))
    visible = next((character for character in value
                    if unicodedata.category(character)[0] not in INVISIBLE_CATEGORIES), "")
    return "'" + value if visible in FORMULA_STARTS else value


def write_csv(path, columns, rows):
    """Write the CSV file ``path``: the header ``columns`` (list of str), then a line per row of ``rows``
    (dicts: column -> str, number or None; a missing column is empty, other keys are left out), every field
    spreadsheet_safe, in UTF-8. The file appears whole or not at all: it is written aside, then moved in."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow([spreadsheet_safe(column) for column in columns])
            writer.writerows([spreadsheet_safe(row.get(column, "")) for column in columns] for row in rows)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path
