"""Which organization an issue-event message belongs to (SPEC §4, §9).

The canonical event carries no organization: a Kafka message names it in the
``okr-organization`` header (else the consumer's default,
``OKR_ISSUE_ORGANIZATION``), a webhook takes its registration's. This module
owns reading that header and the rule an organization id must meet.
"""

from __future__ import annotations

from typing import Final

from consumers.dead_letters import KafkaRecord
from consumers.issue_event import InvalidIssueEvent
from consumers.publisher import ORGANIZATION_HEADER

__all__ = ["MAX_ORGANIZATION_CHARS", "check_organization", "organization_of"]

MAX_ORGANIZATION_CHARS: Final = 200


def check_organization(value: str, where: str = ORGANIZATION_HEADER) -> str:
    """``value`` if it is a usable organization id, else ``InvalidIssueEvent``."""
    if not value.strip() or value != value.strip():
        raise InvalidIssueEvent(f"{where} is blank or has surrounding whitespace")
    if len(value) > MAX_ORGANIZATION_CHARS:
        raise InvalidIssueEvent(f"{where} is longer than {MAX_ORGANIZATION_CHARS} characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise InvalidIssueEvent(f"{where} contains control characters")
    return value


def organization_of(record: KafkaRecord, default: str) -> str:
    """The ``okr-organization`` header, else ``default``; ``InvalidIssueEvent`` if unusable."""
    values = [value for name, value in record.headers or () if name == ORGANIZATION_HEADER]
    if not values:
        return default
    if len(set(values)) > 1:
        raise InvalidIssueEvent(f"header {ORGANIZATION_HEADER} is given twice, differently")
    try:
        organization = (values[0] or b"").decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidIssueEvent(f"header {ORGANIZATION_HEADER} is not valid UTF-8") from None
    return check_organization(organization, f"header {ORGANIZATION_HEADER}")
