"""The SVG charts: self-contained, labelled for assistive technology, names escaped, and
hidden values drawn as labels only."""

from __future__ import annotations

from sip_engine.reports.charts import bar_chart, column_chart
from sip_engine.reports.report import Table, TableRow
from sip_engine.reports.suppression import Shown


def _table(rows: list[tuple[str, list[Shown]]], columns: list[str]) -> Table:
    return Table("t", "Titel", columns, [TableRow(label, label, cells) for label, cells in rows])


def test_bar_chart_escapes_names_and_draws_no_bar_for_hidden_values() -> None:
    table = _table(
        [
            ('<script>alert("x")</script>', [Shown("12", 12)]),
            ("Öckerö & Partille", [Shown("<5", None)]),
        ],
        ["Startade"],
    )
    svg = bar_chart("c", "SIP per område", table)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "Öckerö &amp; Partille" in svg
    assert svg.count('fill="#0b5394"') == 1  # one bar: the hidden value has none
    assert "&lt;5</text>" in svg
    assert 'role="img" aria-labelledby="c-title c-desc"' in svg
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_column_chart_scales_to_the_largest_shown_value() -> None:
    table = _table(
        [("jan", [Shown("10", 10), Shown("0", 0)]), ("feb", [Shown("döljs", None), Shown("7", 7)])],
        ["Startade", "Avslutade"],
    )
    svg = column_chart("m", "SIP per månad", table, ["jan", "feb"])
    assert '<title id="m-title">SIP per månad</title>' in svg
    assert ">10</text>" in svg and ">7</text>" in svg and ">döljs</text>" in svg
    # Axis 0–10 in fifths, and two bars (the 0 and the hidden value have none).
    assert [f">{t}</text>" in svg for t in (0, 2, 4, 6, 8, 10)] == [True] * 6
    assert svg.count("<rect") == 1 + 2 + 2  # background, legend swatches, bars
