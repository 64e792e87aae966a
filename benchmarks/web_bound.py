"""The case list's ceiling: its required work with no template at all (``bench_web --bound``).

This serves the real application exactly as ``sip-engine serve`` does (same settings, pool,
planner statistics, waitress with the same threads), plus one extra route,
``/_bench/bound-list``, that does what the case list must do on every request and nothing
else:

* the signed-in check (``login_required``: the session cookie and the user's row),
* the same statements as ``/arenden`` (``search_cases`` for the page and its total, the filter
  form's coordinators and areas, which rows may show the child's details),
* the same read audit (``audit("case_list")``, written after the page in its own transaction),

and then writes the page's rows as HTML with f-strings (escaped), without Jinja, the base
layout, translations or the filter form's markup. Its throughput against ``/healthz`` in the
same run is therefore an upper bound for any way of rendering the list on this stack: if it is
below the issue's 30 %, no template can reach it.

Run by ``python -m benchmarks.bench_web --bound``; never part of the product.
"""

from __future__ import annotations

import argparse

import waitress
from flask import Flask, request
from flask.typing import ResponseReturnValue
from flask_login import login_required
from markupsafe import escape

from sip_engine.config import load_settings
from sip_engine.db import refresh_planner_statistics
from sip_engine.migrate import upgrade
from sip_engine.runtime import build_runtime
from sip_engine.services.queries import CaseFilter, search_cases
from webui import create_app
from webui.cases import _AREAS, _UNIT_COORDINATORS, _details_allowed
from webui.context import actor, audit, db, now

BOUND_PATH = "/_bench/bound-list"


def bound_app(threads: int) -> Flask:
    runtime = build_runtime(load_settings(), pool_size=threads + 2)  # as cli.serve
    upgrade(runtime.engine)
    refresh_planner_statistics(runtime.engine)
    app = create_app(runtime=runtime)
    from sip_engine.scheduler import start_background_scheduler

    start_background_scheduler(runtime)  # as cli.serve: its sweeps cost the same on every route

    @app.route(BOUND_PATH)
    @login_required
    def bound_list() -> ResponseReturnValue:
        me, args = actor(), request.args
        flt = CaseFilter(
            state=args.get("state") or None,
            nosam_area_id=int(args["area"]) if args.get("area", "").isdigit() else None,
            sort=args.get("sort", "opened_desc"),
        )
        session = db()
        page = search_cases(session, me, flt, now())
        connection = session.connection()
        coordinators = connection.execute(_UNIT_COORDINATORS, {"unit_id": me.organisation_id})
        areas = connection.execute(_AREAS).all()
        allowed = _details_allowed(page.items)
        audit("case_list")
        out = ['<!doctype html><html lang="sv"><body><form method="get" class="filters">']
        out += [f'<option value="{a.id}">{escape(a.name)}</option>' for a in areas]
        out += [f'<option value="{u.id}">{escape(u.display_name)}</option>' for u in coordinators]
        out.append(f'</form><p id="result-count">{page.total} ärenden</p><table>')
        for case in page.items:
            child = escape(case.child_name) if case.id in allowed else ""
            out.append(
                f'<tr><td><a href="/arenden/{case.id}">{escape(case.reference)}</a></td>'
                f"<td>{child}</td><td>{escape(case.state)}</td>"
                f"<td>{case.opened_at:%Y-%m-%d}</td></tr>"
            )
        out.append("</table></body></html>")
        return "".join(out)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    app = bound_app(args.threads)
    waitress.serve(app, host=args.host, port=args.port, threads=args.threads, ident="sip-engine")


if __name__ == "__main__":
    main()
