"""Writing rows of objects the session holds with Core statements, keeping the objects in step.

A transition writes a handful of known columns. Through the unit of work each of those writes
costs a flush (change tracking, dependency sorting, one statement per object); written with a
Core statement on the session's connection it costs the statement. The objects are then marked
written with ``set_committed_value``, as a flush would leave them: the new values in place, no
pending change, nothing sent again at the next flush.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.sql.dml import Update

from sip_engine.models import Base

# One UPDATE per table and set of columns, built once: building a statement and its cache key
# anew on every write cost about as much as running it.
_UPDATES: dict[tuple[str, frozenset[str]], Update] = {}
_T = TypeVar("_T", bound=Base)


def _update_by_id(table: Table, columns: frozenset[str]) -> Update:
    key = (table.name, columns)
    statement = _UPDATES.get(key)
    if statement is None:
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({name: bindparam(f"v_{name}") for name in sorted(columns)})
        )
        _UPDATES[key] = statement
    return statement


def pending_columns(obj: Base) -> dict[str, Any]:
    """The object's column attributes changed in memory and not yet written."""
    state = instance_state(obj)
    columns = state.mapper.column_attrs
    return {key: state.dict[key] for key in state.committed_state if key in columns}


def write_columns(session: Session, obj: Base, values: dict[str, Any]) -> None:
    """``UPDATE <table> SET <values> WHERE id = obj.id`` on the session's connection, then the
    values set on ``obj`` as written. No version is checked or raised: for the case, only in
    a transaction that has already raised its version and holds its row (the workflow
    engine's, after its versioned UPDATE)."""
    if not values:
        return
    table = Base.metadata.tables[str(type(obj).__tablename__)]
    params = {f"v_{name}": value for name, value in values.items()}
    identity = instance_state(obj).identity  # the primary key: (id,)
    assert identity is not None, "only objects already in the database"
    params["b_id"] = identity[0]
    session.connection().execute(_update_by_id(table, frozenset(values)), params)
    for name, value in values.items():
        set_committed_value(obj, name, value)


def attach_written(session: Session, obj: _T) -> _T:
    """An object built from a row that was just inserted with Core (every column given, its
    id included), made persistent in the session without a flush."""
    make_transient_to_detached(obj)
    session.add(obj)
    return obj
