import logging

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from .world import World


def test_database_errors_do_not_carry_personal_data(
    db_engine: Engine, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(IntegrityError) as raised, db_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO child (first_name, last_name, search_name, identity_number, "
                "identity_kind, birth_date, protected_identity) VALUES (:f, :l, :s, :n, "
                "'personnummer', '2015-03-15', false)"
            ),
            {"f": "Hemlig", "l": "Person", "s": "hemlig person", "n": world.child.identity_number},
        )
    message = str(raised.value)
    # The statement's parameters (names, numbers) are hidden. PostgreSQL's own DETAIL can still
    # name a duplicated key, which is why the web layer never logs exception messages.
    assert "SQL parameters hidden" in message and "Hemlig" not in message
    assert "Hemlig" not in caplog.text
