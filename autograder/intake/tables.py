"""Instructors' CSV files (a times file, a Canvas roster, grades.csv read back for Canvas): read whole, or
refused with every problem placed by file, line and column, before anything is written from them.

    table = read_table(path, required=("student", "submitted_at"))
    for row in table.rows:
        row.values["student"]             # str, "" where the row has no such field
        table.place(row, "submitted_at")  # "times.csv line 3, column 2 (submitted_at)"
    raise TableError([...])               # a ValueError: commands print it, no traceback

Encoding: UTF-8, with or without the byte-order mark spreadsheets and Canvas put first. A line of a record
is where it starts in the file (a quoted field may span lines); line 1 is the header.
"""
import csv
import io
from dataclasses import dataclass
from pathlib import Path

MAX_SHOWN = 10  # problems listed in one error; the rest are counted
SAVE_AS = "save it from the spreadsheet as CSV UTF-8"


class TableError(ValueError):
    """A file that cannot be used, with its problems (list of str, each naming file, line and column)."""

    def __init__(self, problems):
        self.problems = list(problems)
        more = len(self.problems) - MAX_SHOWN
        super().__init__("\n".join(self.problems[:MAX_SHOWN] + [f"... and {more} more"] * (more > 0)))


@dataclass(frozen=True)
class Row:
    """One record: line (int, where it starts in the file) and values ({column: str}; "" for a field the
    record lacks)."""
    line: int
    values: dict


@dataclass(frozen=True)
class Table:
    """A CSV file read whole: path (Path), columns (list of str, the header's), rows (list of Row)."""
    path: Path
    columns: list
    rows: list

    def place(self, row, column):
        """Where a field is, for a message: "<file> line N, column C (name)"."""
        return f"{self.path} line {row.line}, column {self.columns.index(column) + 1} ({column})"


def read_table(path, required):
    """The Table of the CSV file ``path``, which must have the columns ``required`` (tuple of str, each
    once; the others optional, spaces around the header's names ignored); TableError when it cannot be read,
    lacks a column, or has a record with more fields than the header or without a required one. Blank
    records are left out."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise TableError([f"{path}: cannot be read ({error.strerror or error})"]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise TableError([f"{path} line {line}: byte {data[error.start]:#04x} is not UTF-8 text; {SAVE_AS}"]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    records, line = [], 1
    try:
        for fields in reader:
            records.append((line, fields))
            line = reader.line_num + 1
    except csv.Error as error:
        raise TableError([f"{path} line {line}: {error}; {SAVE_AS}"]) from None
    if not records:
        raise TableError([f"{path}: the file is empty; expected a header line with the columns "
                          f"{' and '.join(required)}"])
    (_, header), records = records[0], records[1:]
    columns = [column.strip() for column in header]
    problems = _header_problems(path, columns, required)
    if problems:
        raise TableError(problems)
    rows = []
    for line, fields in records:
        if not any(field.strip() for field in fields):
            continue
        if len(fields) > len(columns):
            problems.append(f"{path} line {line}: {_fields(len(fields))} where the header has {len(columns)} "
                            "(a comma in a value that is not in quotes?)")
        lacking = [column for column in required if columns.index(column) >= len(fields)]
        if lacking:
            problems.append(f"{path} line {line}: {_fields(len(fields))}, no {' and no '.join(lacking)} (column "
                            f"{columns.index(lacking[0]) + 1}); expected {len(columns)} fields as in the header")
        values = {}
        for number, column in enumerate(columns):  # of a column named twice, the first
            values.setdefault(column, fields[number] if number < len(fields) else "")
        rows.append(Row(line, values))
    if problems:
        raise TableError(problems)
    return Table(path, columns, rows)


def _header_problems(path, columns, required):
    twice = [column for column in required if columns.count(column) > 1]
    if twice:
        return [f"{path} line 1: the column {', '.join(map(repr, twice))} appears twice; keep one"]
    missing = [column for column in required if column not in columns]
    if missing:
        return [f"{path} line 1: needs the columns {' and '.join(required)}; it has no {' and no '.join(missing)} "
                f"(its columns: {', '.join(map(repr, columns))})"]
    return []


def _fields(count):
    return f"{count} field{'s' * (count != 1)}"
