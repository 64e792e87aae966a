"""Operational endpoints."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from sip_engine.services.outbox import outbox_health

from .context import db, now, runtime

bp = Blueprint("system", __name__)


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    """200 with the database status when the database answers; 503 otherwise. With it the
    outbox's figures for monitoring (no personal data): the age in seconds of the oldest
    message still waiting to be delivered (null: none) and the count of failed messages."""
    backend = runtime().engine.dialect.name
    try:
        # Two statements on the outbox's (status, …) index; they prove the database answers.
        outbox = outbox_health(db(), now()).as_dict()
    except Exception:
        return jsonify(status="error", database="unreachable", backend=backend), 503
    return jsonify(status="ok", database="ok", backend=backend, outbox=outbox)
