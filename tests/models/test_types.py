from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from sip_engine.models import Case

from ..world import CaseBuilder


def test_times_are_stored_in_utc_and_come_back_aware(builder: CaseBuilder) -> None:
    case = builder.case_in("upptack")
    stockholm_summer = timezone(timedelta(hours=2))
    case.updated_at = datetime(2026, 7, 1, 12, 0, tzinfo=stockholm_summer)
    builder.session.commit()
    builder.session.expire_all()
    loaded = builder.session.scalars(select(Case)).one()
    assert loaded.updated_at == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert loaded.updated_at.tzinfo is UTC


def test_a_naive_time_is_refused(builder: CaseBuilder) -> None:
    case = builder.case_in("upptack")
    case.updated_at = datetime(2026, 7, 1, 12, 0)
    with pytest.raises(Exception, match="naive datetime"):
        builder.session.flush()
