"""CSV export of report tables.

The file is what Swedish Excel opens without an import dialogue: UTF-8 with a byte-order mark
(else Excel reads it as Windows-1252 and breaks å, ä, ö) and ``;`` as separator (the comma is
the decimal sign in Swedish). Every cell that a spreadsheet could read as a formula — starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return — gets a leading ``'`` (OWASP's
advice against CSV injection); area and reason names are entered by people.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from .report import Report, Table

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _write_table(writer: Any, report: Report, table: Table) -> None:
    writer.writerow([safe_cell(table.title)])
    writer.writerow([safe_cell(f"{report.area_label}, {report.period.label}")])
    writer.writerow([safe_cell(c) for c in ["", *table.columns]])
    for row in table.rows:
        writer.writerow([safe_cell(row.label), *(safe_cell(c.text) for c in row.cells)])


def report_csv(report: Report, table_key: str | None = None) -> str:
    """One table, or every table one after the other (a blank line between), as CSV text
    starting with a BOM."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    tables = [t for t in report.tables if table_key in (None, t.key)]
    for n, table in enumerate(tables):
        if n:
            writer.writerow([])
        _write_table(writer, report, table)
    return "\ufeff" + out.getvalue()
