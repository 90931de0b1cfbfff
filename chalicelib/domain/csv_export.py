"""CSV exports: RFC 4180, UTF-8, a header row, and safe to open in a spreadsheet.

Spreadsheets treat a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
as a formula ("CSV injection"): an account named ``=HYPERLINK(...)`` would run when a manager opens
the export. Every text cell starting with one of those characters gets a leading apostrophe,
which spreadsheets hide and which turns the cell into plain text. Numbers are written as numbers
(a negative number such as ``-12`` stays a number: it is produced by us, not typed by a user).

The writer is a generator of text chunks so a large export is produced row by row, never held
twice in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPE = "text/csv; charset=utf-8"
# Rows are buffered into chunks of about this many characters before being yielded.
CHUNK_CHARS = 64 * 1024


def neutralise(value: str) -> str:
    """A text cell that a spreadsheet will show as text, never evaluate."""
    if value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def cell(value: Any) -> str:
    """One cell: None is empty, booleans are true/false, numbers as written, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if isinstance(value, float):
            return f"{value:.2f}".rstrip("0").rstrip(".") if value == value else ""
        return str(value)
    if isinstance(value, list | tuple):
        return neutralise("; ".join(str(v) for v in value))
    return neutralise(str(value))


def rows_to_chunks(
    header: Sequence[str], rows: Iterable[Sequence[Any]], chunk_chars: int = CHUNK_CHARS
) -> Iterator[str]:
    """RFC 4180 text (CRLF line ends, fields quoted when they need it), header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([neutralise(str(h)) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
        if buffer.tell() >= chunk_chars:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def dicts_to_chunks(
    columns: Sequence[str], records: Iterable[Mapping[str, Any]], chunk_chars: int = CHUNK_CHARS
) -> Iterator[str]:
    return rows_to_chunks(
        columns, ([record.get(c) for c in columns] for record in records), chunk_chars
    )


def to_bytes(chunks: Iterable[str]) -> bytes:
    """The whole document as UTF-8 (no byte-order mark: RFC 4180 and Python's csv read it as is)."""
    return "".join(chunks).encode("utf-8")


def filename(stem: str, day: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in stem).strip("-") or "export"
    return f"{safe[:60]}-{day}.csv"
