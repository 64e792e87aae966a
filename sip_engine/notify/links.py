"""Personal answer links: signed, bound to one invitation (participant + meeting)."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer


class BadLink(ValueError):
    """The link was altered, belongs to no invitation, or has been replaced."""


@dataclass(frozen=True)
class LinkClaims:
    invitation_id: int
    meeting_id: int
    participant_id: int
    nonce: str


class AnswerLinks:
    def __init__(self, secret: str, base_url: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt="sip-answer-link")
        self._secret = secret
        self.base_url = base_url.rstrip("/")

    def serializer(self, salt: str) -> URLSafeSerializer:
        """A serializer with the same secret for another kind of personal link; the salt
        keeps one kind of link from being accepted as another."""
        return URLSafeSerializer(self._secret, salt=salt)

    def token(self, invitation_id: int, meeting_id: int, participant_id: int, nonce: str) -> str:
        return str(self._serializer.dumps([invitation_id, meeting_id, participant_id, nonce]))

    def url(self, token: str) -> str:
        return f"{self.base_url}/svar/{token}"

    def verify(self, token: str) -> LinkClaims:
        ids, nonce = _verified(self._serializer, token, ids=3)
        return LinkClaims(ids[0], ids[1], ids[2], nonce)


@dataclass(frozen=True)
class HealthExamClaims:
    exam_id: int
    placement_id: int
    nonce: str


class HealthExamLinks:
    """The region contact's personal link to one health-examination part."""

    def __init__(self, answer_links: AnswerLinks) -> None:
        self._serializer = answer_links.serializer("sip-health-exam-link")
        self.base_url = answer_links.base_url

    def token(self, exam_id: int, placement_id: int, nonce: str) -> str:
        return str(self._serializer.dumps([exam_id, placement_id, nonce]))

    def url(self, token: str) -> str:
        return f"{self.base_url}/halsoundersokning/{token}"

    def verify(self, token: str) -> HealthExamClaims:
        ids, nonce = _verified(self._serializer, token, ids=2)
        return HealthExamClaims(ids[0], ids[1], nonce)


def _verified(serializer: URLSafeSerializer, token: str, *, ids: int) -> tuple[list[int], str]:
    """A link's signed payload ``[id, …, nonce]`` with ``ids`` ids; BadLink for anything else
    (a bad signature, or a genuine signature over another shape)."""
    try:
        data = serializer.loads(token)
    except BadSignature:
        raise BadLink("Länken är ogiltig.") from None
    if (
        not isinstance(data, list)
        or len(data) != ids + 1
        or not all(isinstance(v, int) for v in data[:ids])
        or not isinstance(data[ids], str)
    ):
        raise BadLink("Länken är ogiltig.")
    return data[:ids], data[ids]
