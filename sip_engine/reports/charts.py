"""Server-side SVG charts: no script, no internet resource, no inline style (the CSP forbids
it; SVG presentation attributes are not styles). Each chart is drawn from a report table's
published values, so a hidden value (``<5``, ``döljs``) has no bar, only its label; the page
shows the same table next to the chart for screen readers and anyone who prefers numbers.
"""

from __future__ import annotations

from html import escape

from .report import Table

INK = "#1b1f24"  # text: 16:1 on white
GRID = "#8a939c"  # gridlines: 3.2:1 on white (WCAG 1.4.11 non-text contrast)
# Series colours, each at least 3:1 against white and told apart by the legend as well.
COLOURS = ("#0b5394", "#a14d00", "#1d6b34")


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 5 × 10^k)."""
    if value <= 5:
        return 5
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def _ticks(top: int) -> list[int]:
    return [top * i // 5 for i in range(6)]


def _open(chart_id: str, title: str, width: int, height: int, summary: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'font-family="system-ui, sans-serif" font-size="13">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]


def _legend(parts: list[str], names: list[str], x: int, y: int) -> None:
    for i, name in enumerate(names):
        lx = x + i * 140
        colour = COLOURS[i % len(COLOURS)]
        parts.append(f'<rect x="{lx}" y="{y - 11}" width="14" height="14" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 20}" y="{y}" fill="{INK}">{escape(name)}</text>')


def column_chart(chart_id: str, title: str, table: Table, short_labels: list[str]) -> str:
    """Vertical grouped columns: one group per table row, one column per table column."""
    width, height = 720, 320
    left, right, top, bottom = 48, 12, 40, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [[c.number for c in row.cells] for row in table.rows]
    highest = max((v for row in values for v in row if v is not None), default=0)
    y_max = _nice_max(highest)
    parts = _open(
        chart_id,
        title,
        width,
        height,
        f"Stapeldiagram: {', '.join(table.columns)} per månad. Värdena finns i tabellen "
        "under diagrammet; dolda värden (<5, döljs) ritas inte.",
    )
    _legend(parts, table.columns, left, 20)
    for tick in _ticks(y_max):
        y = top + plot_h - plot_h * tick / y_max
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">{tick}</text>'
        )
    group_w = plot_w / max(len(table.rows), 1)
    bar_w = min(28.0, group_w * 0.8 / max(len(table.columns), 1))
    for g, row in enumerate(table.rows):
        gx = left + g * group_w + (group_w - bar_w * len(row.cells)) / 2
        for s, cell in enumerate(row.cells):
            x = gx + s * bar_w
            label_y: float = top + plot_h - 4
            if cell.number:
                h = plot_h * cell.number / y_max
                parts.append(
                    f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" '
                    f'height="{h:.1f}" fill="{COLOURS[s % len(COLOURS)]}"/>'
                )
                label_y = top + plot_h - h - 4
            cx = x + (bar_w - 2) / 2
            if cell.number:
                parts.append(
                    f'<text x="{cx:.1f}" y="{label_y:.1f}" text-anchor="middle" '
                    f'font-size="11" fill="{INK}">{escape(cell.text)}</text>'
                )
            elif cell.text != "0":
                # A hidden value has no bar; its label stands upright so neighbours never overlap.
                parts.append(
                    f'<text x="{cx + 4:.1f}" y="{label_y:.1f}" transform="rotate(-90 {cx + 4:.1f} '
                    f'{label_y:.1f})" font-size="11" fill="{INK}">{escape(cell.text)}</text>'
                )
        parts.append(
            f'<text x="{left + g * group_w + group_w / 2:.1f}" y="{height - bottom + 18}" '
            f'text-anchor="middle" fill="{INK}">{escape(short_labels[g])}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart(chart_id: str, title: str, table: Table, column: int = 0) -> str:
    """Horizontal bars, one per table row, for one column (e.g. SIPs started per area)."""
    label_w, right, top, row_h = 190, 60, 16, 26
    width = 720
    height = top + row_h * len(table.rows) + 28
    plot_w = width - label_w - right
    cells = [row.cells[column] for row in table.rows]
    x_max = _nice_max(max((c.number for c in cells if c.number is not None), default=0))
    parts = _open(
        chart_id,
        title,
        width,
        height,
        f"Liggande stapeldiagram: {table.columns[column]} per NOSAM-område. Värdena finns i "
        "tabellen under diagrammet; dolda värden (<5, döljs) ritas inte.",
    )
    base = top + row_h * len(table.rows)
    for tick in _ticks(x_max):
        x = label_w + plot_w * tick / x_max
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{base}" stroke="{GRID}" '
            'stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{base + 18}" text-anchor="middle" fill="{INK}">{tick}</text>'
        )
    for i, (row, cell) in enumerate(zip(table.rows, cells, strict=True)):
        y = top + i * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" '
            f'fill="{INK}">{escape(row.label)}</text>'
        )
        w = plot_w * (cell.number or 0) / x_max
        if w:
            parts.append(
                f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
                f'fill="{COLOURS[0]}"/>'
            )
        parts.append(
            f'<text x="{label_w + w + 6:.1f}" y="{y + row_h / 2 + 4:.1f}" '
            f'fill="{INK}">{escape(cell.text)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
