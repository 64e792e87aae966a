"""A protected child's kallelse over real SMTP: mail and calendar name the function "Skolan",
never the school or the child's address."""

from __future__ import annotations

from sip_engine.models import OutboxMessage
from sip_engine.protection import SCHOOL_LABEL

from ..protected import SECRETS, protected_case_in_kalla
from ..smtp import SmtpServer
from ..world import CaseBuilder
from .test_kallelse import _calendar, _deliver, _event


def test_the_kallelse_and_its_calendar_entry_never_name_the_school_or_address(
    mail_builder: CaseBuilder, smtp_server: SmtpServer
) -> None:
    protected_case_in_kalla(mail_builder)
    _deliver(mail_builder, smtp_server)
    received = smtp_server.messages
    assert len(received) == 3  # Sara, Karin (of the school itself) and Omar
    for message in received:
        calendar, text = _calendar(message)
        event = _event(calendar)
        ics = calendar.to_ical().decode("utf-8")
        parts = [text, str(event["DESCRIPTION"]), str(event["LOCATION"]), ics]
        seen = "\n".join([*parts, str(message["To"]), str(message["Subject"])])
        assert f"- Hur kan {SCHOOL_LABEL} anpassa skoldagen?" in text
        assert f"Hur kan {SCHOOL_LABEL} anpassa skoldagen?" in str(event["DESCRIPTION"])
        for secret in SECRETS:
            assert secret.lower() not in seen.lower(), (secret, message["To"])
    # The outbox (the local mail view shows it) holds the same outward text.
    for row in mail_builder.session.query(OutboxMessage):
        for secret in SECRETS:
            assert secret not in row.body_text and secret not in (row.ics or "")
