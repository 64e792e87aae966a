"""The child's folded name for the case search is kept by the model, however a child is written."""

from datetime import date

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from sip_engine.models import Child
from sip_engine.models.enums import IdentityKind


def test_an_orm_insert_and_an_update_fold_the_name(session: Session) -> None:
    child = Child(
        first_name="Åsa",
        last_name="Öberg",
        identity_kind=IdentityKind.PERSONNUMMER,
        birth_date=date(2012, 5, 3),
    )
    session.add(child)
    session.flush()
    assert child.search_name == "åsa öberg"
    child.last_name = "Ärlig"
    session.flush()
    assert session.scalar(select(Child.search_name).where(Child.id == child.id)) == "åsa ärlig"


def test_a_bulk_core_insert_folds_each_row(db_engine: Engine) -> None:
    rows = [
        {
            "first_name": first,
            "last_name": "ÖSTLUND",
            "identity_kind": IdentityKind.PERSONNUMMER,
            "birth_date": date(2015, 1, 1),
        }
        for first in ("Ebba", "Élise", "Noah")
    ]
    with db_engine.begin() as conn:
        conn.execute(insert(Child), rows)
    with db_engine.connect() as conn:
        names = conn.scalars(select(Child.search_name).order_by(Child.id)).all()
    assert names == ["ebba östlund", "élise östlund", "noah östlund"]
