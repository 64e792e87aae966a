"""Operational endpoints."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from .context import db, runtime

bp = Blueprint("system", __name__)


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    """200 with the database status when the database answers; 503 otherwise."""
    backend = runtime().engine.dialect.name
    try:
        db().execute(text("SELECT 1"))
    except Exception:
        return jsonify(status="error", database="unreachable", backend=backend), 503
    return jsonify(status="ok", database="ok", backend=backend)
