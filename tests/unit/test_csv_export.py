from __future__ import annotations

import csv
import io

import pytest

from chalicelib.domain import csv_export


def _parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=cmd()", "'=cmd()"),
        ("+SUM(A1:A9)", "'+SUM(A1:A9)"),
        ("-2+3", "'-2+3"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\tTabbed", "'\tTabbed"),
        ("\rReturn", "'\rReturn"),
        ("Plain = fine", "Plain = fine"),
        ("", ""),
    ],
)
def test_formula_cells_are_neutralised(value: str, expected: str) -> None:
    assert csv_export.cell(value) == expected


def test_numbers_booleans_and_none() -> None:
    assert csv_export.cell(-12) == "-12"  # our own numbers stay numbers
    assert csv_export.cell(0.5) == "0.5"
    assert csv_export.cell(2.0) == "2"
    assert csv_export.cell(True) == "true"
    assert csv_export.cell(None) == ""
    assert csv_export.cell(["a", "=b"]) == "a; =b"
    assert csv_export.cell(["=a", "b"]) == "'=a; b"


def test_rfc4180_quoting_crlf_and_unicode_round_trip() -> None:
    rows = [
        ['Quote "q", comma', 1],
        ["Line\nbreak", 2],
        ["Zürich — 東京", 3],
        ['=HYPERLINK("http://x")', 4],
    ]
    text = "".join(csv_export.rows_to_chunks(["name", "n"], rows))
    assert text.startswith("name,n\r\n")
    assert text.endswith("\r\n")
    assert '"Quote ""q"", comma"' in text
    parsed = _parse(text)
    assert parsed[0] == ["name", "n"]
    assert parsed[1] == ['Quote "q", comma', "1"]
    assert parsed[2] == ["Line\nbreak", "2"]
    assert parsed[3] == ["Zürich — 東京", "3"]
    assert parsed[4] == ['\'=HYPERLINK("http://x")', "4"]
    assert csv_export.to_bytes([text]).decode("utf-8") == text


def test_header_is_neutralised_too() -> None:
    text = "".join(csv_export.rows_to_chunks(["=evil"], []))
    assert _parse(text) == [["'=evil"]]


def test_chunks_stream_large_exports() -> None:
    rows = ([f"Account {i}", i] for i in range(5000))
    chunks = list(csv_export.rows_to_chunks(["name", "n"], rows, chunk_chars=4096))
    assert len(chunks) > 10
    assert all(len(chunk) < 4096 + 200 for chunk in chunks)
    parsed = _parse("".join(chunks))
    assert len(parsed) == 5001 and parsed[-1] == ["Account 4999", "4999"]


def test_dicts_follow_column_order() -> None:
    text = "".join(csv_export.dicts_to_chunks(["b", "a"], [{"a": 1, "b": 2, "c": 3}]))
    assert _parse(text) == [["b", "a"], ["2", "1"]]


def test_filename_is_safe() -> None:
    assert (
        csv_export.filename('=Q1 "renewals"/../x', "2026-01-02")
        == "Q1--renewals-----x-2026-01-02.csv"
    )
    assert csv_export.filename("", "2026-01-02") == "export-2026-01-02.csv"
