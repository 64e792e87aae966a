"""Who may see which case, and the audit of reads.

Every query for cases in the web layer starts from :func:`visible_cases`, so scope is enforced
in the query itself, not only by hiding links.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Connection, Select, false, insert, select
from sqlalchemy.orm import Session, selectinload

from sip_engine import consent_rules
from sip_engine.consent_rules import CasePart
from sip_engine.models import AccessLog, Case, Child, Consent, Organisation, Participant, Role
from sip_engine.workflow import Actor


def visible_cases(actor: Actor) -> Select[Case]:
    """Cases the actor may open: a samordnare or chef those of their unit; a deltagare those
    they take part in; anyone else (an admin manages users, not cases) none."""
    stmt = select(Case)
    if actor.role in (Role.SAMORDNARE, Role.CHEF) and actor.organisation_id is not None:
        return stmt.where(Case.unit_id == actor.organisation_id)
    if actor.role is Role.DELTAGARE and actor.professional_id is not None:
        # IN over the professional's few participations: SQLite plans the equivalent
        # correlated EXISTS as an index scan per case (seconds at 10,000 cases).
        return stmt.where(
            Case.id.in_(
                select(Participant.case_id).where(
                    Participant.professional_id == actor.professional_id,
                    Participant.removed_at.is_(None),
                )
            )
        )
    return stmt.where(false())


def get_visible_case(session: Session, actor: Actor, case_id: int) -> Case | None:
    return session.scalars(visible_cases(actor).where(Case.id == case_id)).first()


def is_case_unit(actor: Actor, case_unit_id: int) -> bool:
    """The case's own unit (its samordnare and chef) sees all of it."""
    return actor.role in (Role.SAMORDNARE, Role.CHEF) and actor.organisation_id == case_unit_id


def visible_parts(session: Session, case: Case, actor: Actor, today: date) -> frozenset[CasePart]:
    """The parts of ``case`` the actor may see today (sip_engine.consent_rules)."""
    return parts_by_case(session, [case.id], actor, today).get(case.id, consent_rules.always())


def parts_by_case(
    session: Session, case_ids: Sequence[int], actor: Actor, today: date
) -> dict[int, frozenset[CasePart]]:
    """What the actor may see of each of ``case_ids``, for a whole list page at once: the
    case's unit everything; a participant what a complete consent for their organisation
    shows (the consent rule), else only what anyone in scope sees."""
    if not case_ids:
        return {}
    rows = session.execute(
        select(Case.id, Case.unit_id, Case.child_id).where(Case.id.in_(case_ids))
    ).all()
    parts: dict[int, frozenset[CasePart]] = {}
    pending: dict[int, int] = {}  # case id: child id
    for case_id, unit_id, child_id in rows:
        if is_case_unit(actor, unit_id):
            parts[case_id] = consent_rules.everything()
        elif actor.organisation_id is None or actor.role is not Role.DELTAGARE:
            parts[case_id] = consent_rules.always()
        else:
            pending[case_id] = child_id
    if pending:
        assert actor.organisation_id is not None
        for case_id, found in verdicts(session, pending, actor.organisation_id, today).items():
            parts[case_id] = consent_rules.visible_parts(found)
    return parts


def verdicts(
    session: Session, children_by_case: dict[int, int], organisation_id: int, today: date
) -> dict[int, consent_rules.Verdict]:
    """The consent rule's verdict for one organisation on each case (case id: child id), with
    the cases' consents and children read in a fixed number of statements."""
    children = {
        child.id: child
        for child in session.scalars(
            select(Child)
            .where(Child.id.in_(set(children_by_case.values())))
            .options(selectinload(Child.relatives))
        )
    }
    consents: dict[int, list[Consent]] = {case_id: [] for case_id in children_by_case}
    for consent in session.scalars(
        select(Consent)
        .where(Consent.case_id.in_(list(children_by_case)))
        .options(selectinload(Consent.organisations))
    ):
        consents[consent.case_id].append(consent)
    organisation = session.get(Organisation, organisation_id)
    name = organisation.name if organisation else ""
    return {
        case_id: consent_rules.verdict(
            consents[case_id],
            consent_rules.subject_of(children[child_id]),
            organisation_id,
            name,
            today,
        )
        for case_id, child_id in children_by_case.items()
    }


def organisation_verdict(
    session: Session, case: Case, organisation_id: int | None, day: date
) -> consent_rules.Verdict | None:
    """The consent rule's verdict for one organisation on one case (None: no organisation,
    which no consent can cover)."""
    if organisation_id is None:
        return None
    return verdicts(session, {case.id: case.child_id}, organisation_id, day)[case.id]


def identified_cases(session: Session, actor: Actor, today: date) -> list[int]:
    """The cases in the actor's scope whose child the actor may see (found by the child's
    name or personnummer in a search); for a participant, their few cases."""
    in_scope = list(session.scalars(visible_cases(actor).with_only_columns(Case.id)))
    return [
        case_id
        for case_id, parts in parts_by_case(session, in_scope, actor, today).items()
        if CasePart.CHILD in parts
    ]


def log_access(
    connection: Connection,
    actor: Actor | None,
    reads: Sequence[tuple[str, int | None]],
    now: datetime,
    *,
    remote_addr: str | None = None,
) -> None:
    """Audit rows for ``reads`` (action, case id), in one plain INSERT: it is written for
    every page served, so it skips the ORM's unit of work. No actor: read through a personal
    link, whose action names the link."""
    connection.execute(
        insert(AccessLog),
        [
            {
                "at": now,
                "user_id": actor.user_id if actor else None,
                "case_id": case_id,
                "action": action,
                "remote_addr": remote_addr,
            }
            for action, case_id in reads
        ],
    )
