"""What a report may show: only aggregates, and never a count that could single out a child.

Policy (the same for the page, CSV, JSON and charts, because they all show ``Shown`` values):

* A count of 1–4 is shown as ``<5``. A count of 0 is shown as ``0``: it names nobody.
* **Secondary suppression.** Rows marked as parts of a whole (the categories of "who raised
  the need", the reasons, the close reasons, the months of a trend, the areas, "the child took
  part / did not") add up to a total that is published elsewhere (the reasons to at least
  it). If hiding the small cells alone would still let them be worked out by subtraction,
  the smallest other non-zero cells of that column are hidden too, shown as ``döljs``, until
  no hidden small cell is determined. A ``döljs`` cell is 5 or more.
* A share (e.g. of meetings where the child took part) is shown only when neither its part nor
  the rest is 1–4 (either would otherwise be given away by the share); else ``döljs``. A share
  of nothing is ``–``.
* A median or percentile of days is shown only when it is computed over at least 5 cases; else
  ``döljs`` (``–`` when there are none).

Reports offer only calendar years, quarters and months (see ``period``), so arbitrary
overlapping periods cannot be subtracted. What remains possible: combining different reports
(e.g. a quarter's total against its three months' pages) can narrow a suppressed cell down.
Readers are ``chef`` and ``admin``, who are audited; the residual risk is accepted and stated
in the README.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

THRESHOLD = 5
SMALL = "<5"
HIDDEN = "döljs"
NONE = "–"

Kind = Literal["count", "days", "share"]


@dataclass(frozen=True)
class Measure:
    """A raw figure. Never leaves the reports package as is: see :func:`show_column`.

    count: ``value``. days: ``value`` is the statistic over ``whole`` cases (None if none).
    share: ``part`` of ``whole``.
    """

    kind: Kind
    value: int | None = None
    part: int = 0
    whole: int = 0
    in_partition: bool = False


@dataclass(frozen=True)
class Shown:
    """A value as it may be published: ``text`` for people, ``number`` for charts and JSON
    (None when hidden or undefined)."""

    text: str
    number: int | None


def _is_small(value: int) -> bool:
    return 0 < value < THRESHOLD


def _percent(part: int, whole: int) -> int:
    # Round half up in integers (round() would round half to even).
    return (200 * part + whole) // (2 * whole)


def _determined(hidden: list[int], small: set[int], values: list[int]) -> bool:
    """Whether some small cell among ``hidden`` is pinned to one value by their known sum.

    What a reader knows: the sum of the hidden cells (total minus the shown ones), that a
    ``<5`` cell is 1–4 and that a ``döljs`` cell is 5 or more.
    """
    total = sum(values[i] for i in hidden)
    for i in hidden:
        if i not in small:
            continue
        others = [j for j in hidden if j != i]
        others_min = sum(1 if j in small else THRESHOLD for j in others)
        unbounded = any(j not in small for j in others)
        others_max = sum(THRESHOLD - 1 for j in others if j in small)
        low = 1 if unbounded else max(1, total - others_max)
        high = min(THRESHOLD - 1, total - others_min)
        if low >= high:
            return True
    return False


def secondary(values: list[int]) -> set[int]:
    """Indexes of the cells to hide with ``döljs`` besides the small ones, for one column of a
    partition whose total is published."""
    small = {i for i, v in enumerate(values) if _is_small(v)}
    if not small:
        return set()
    extra: set[int] = set()
    candidates = sorted(
        (i for i, v in enumerate(values) if v >= THRESHOLD), key=lambda i: (values[i], i)
    )
    while _determined(sorted(small | extra), small, values) and candidates:
        extra.add(candidates.pop(0))
    return extra


def show_column(measures: list[Measure]) -> list[Shown]:
    """Apply the policy to one column of a table."""
    part_indexes = [i for i, m in enumerate(measures) if m.in_partition and m.kind == "count"]
    extra = {part_indexes[k] for k in secondary([measures[i].value or 0 for i in part_indexes])}
    shown: list[Shown] = []
    for i, m in enumerate(measures):
        if m.kind == "count":
            value = m.value or 0
            if _is_small(value):
                shown.append(Shown(SMALL, None))
            elif i in extra:
                shown.append(Shown(HIDDEN, None))
            else:
                shown.append(Shown(str(value), value))
        elif m.kind == "days":
            if m.whole == 0 or m.value is None:
                shown.append(Shown(NONE, None))
            elif m.whole < THRESHOLD:
                shown.append(Shown(HIDDEN, None))
            else:
                shown.append(Shown(str(m.value), m.value))
        else:
            if m.whole == 0:
                shown.append(Shown(NONE, None))
            elif _is_small(m.part) or _is_small(m.whole - m.part):
                shown.append(Shown(HIDDEN, None))
            else:
                pct = _percent(m.part, m.whole)
                shown.append(Shown(f"{pct} %", pct))
    return shown
