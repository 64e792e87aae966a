"""Aggregate SIP figures per NOSAM area and period (issue #7): the reports page, CSV export,
the printable årsrapport and ``sip-engine report`` all read :func:`build_report`."""

from .figures import FIGURES, Figure, Row, Scope
from .period import Period, PeriodError
from .report import Report, Table, TableRow, areas, build_report
from .suppression import HIDDEN, NONE, SMALL, Shown

__all__ = [
    "FIGURES",
    "HIDDEN",
    "NONE",
    "SMALL",
    "Figure",
    "Period",
    "PeriodError",
    "Report",
    "Row",
    "Scope",
    "Shown",
    "Table",
    "TableRow",
    "areas",
    "build_report",
]
