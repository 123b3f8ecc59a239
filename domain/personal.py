"""Personal texts sealed with a key per person, so that deleting the key erases them
(crypto-shredding, SPEC §11).

The texts a person writes about work and people (a note's ``text``, a
check-in's ``note``, a retrospective's ``problems``, ``improvements`` and
``next_focus``) are sealed when they are written, with the author's key, and
stored everywhere as one opaque string::

    okr-sealed:1:<key id>:<base64url(nonce | AES-GCM ciphertext and tag)>

An event field keeps its type (``str``) and no event changes shape; the
sealed string travels through events, snapshots, read models and caches as
it is. It is opened only where an answer leaves the service (``reveal``): by
the key, when the key still exists, else it reads ``ERASED``.

The associated data binds the format version, the organization and the key
id, so a sealed string cannot be moved under another key or organization and
still open. Nothing a client sends may hold the marker (``domain/text.py``
refuses it at every door), so no client can plant another person's sealed
string where it would be revealed to them.

Pure: key bytes come from a ``PersonalKeys`` store, which lives outside the
domain (the read-model database) and is handed in.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MARK = "okr-sealed:"
"""What begins every sealed string; no client text may contain it."""

VERSION = "1"
ERASED = "[erased]"
"""What a sealed text reads once its author's key is deleted."""

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12

TOKEN = re.compile(r"okr-sealed:1:([0-9a-f]{32}):([A-Za-z0-9_-]+)")
"""A sealed string anywhere in a text (a JSON or HTML answer holds it as is: none of
its characters is escaped by either)."""

Seal = Callable[[str], str]
"""Seals one text with the key of the person writing it."""

Escape = Callable[[str], str]
"""How a revealed text is written into the answer around it (JSON string, HTML)."""


@dataclass(frozen=True)
class PersonKey:
    """One person's key: ``key_id`` names it in sealed strings."""

    key_id: str
    organization_id: str
    secret: bytes


class PersonalKeys(Protocol):
    """Where keys live. No implementation may cache keys across requests or
    processes: an erasure in one process must take effect in every other at once."""

    def key_for(self, organization_id: str, user_id: str) -> PersonKey:
        """The person's key, created if they have none (their first personal text)."""
        ...

    def keys(self, key_ids: Collection[str]) -> dict[str, PersonKey]:
        """The keys of ``key_ids`` that still exist, in one query; erased ones are absent."""
        ...


def new_key(organization_id: str) -> PersonKey:
    return PersonKey(uuid.uuid4().hex, organization_id, AESGCM.generate_key(KEY_BYTES * 8))


def _associated(key: PersonKey) -> bytes:
    return f"{MARK}{VERSION}:{key.organization_id}:{key.key_id}".encode()


def seal(key: PersonKey, text: str) -> str:
    """The sealed string of ``text`` (the caller has validated the plaintext)."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key.secret).encrypt(nonce, text.encode("utf-8"), _associated(key))
    body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
    return f"{MARK}{VERSION}:{key.key_id}:{body}"


def open_sealed(key: PersonKey, token: str) -> str | None:
    """The plaintext of a sealed string, or None if it is not one sealed with ``key``
    (another key, an edited or truncated string)."""
    found = TOKEN.fullmatch(token)
    if found is None or found.group(1) != key.key_id:
        return None
    body = found.group(2)
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        plain = AESGCM(key.secret).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated(key))
        return plain.decode("utf-8")
    except (InvalidTag, ValueError, binascii.Error):
        return None


def sealer(keys: PersonalKeys | None, organization_id: str, user_id: str) -> Seal:
    """Seals with the author's key, fetched once on first use (None: a bare
    application without a key store keeps texts as they are)."""
    if keys is None:
        return keep
    found: list[PersonKey] = []

    def sealing(text: str) -> str:
        if not found:
            found.append(keys.key_for(organization_id, user_id))
        return seal(found[0], text)

    return sealing


def seal_text(seal: Seal, text: str | None) -> str | None:
    """An absent or empty text says nothing of anyone: it stays as it is."""
    return seal(text) if text else text


def keep(text: str) -> str:
    """No sealing (a bare application, tests of the domain alone)."""
    return text


def key_ids(text: str) -> set[str]:
    """The key ids of every sealed string in ``text``."""
    if MARK not in text:
        return set()
    return {found.group(1) for found in TOKEN.finditer(text)}


def reveal_with(text: str, keys: Mapping[str, PersonKey], escape: Escape) -> str:
    """``text`` with every sealed string replaced by ``escape`` of its plaintext, or of
    ``ERASED`` where the key is gone or the string does not open."""
    if MARK not in text:
        return text

    def opened(found: re.Match[str]) -> str:
        key = keys.get(found.group(1))
        plain = None if key is None else open_sealed(key, found.group(0))
        return escape(ERASED if plain is None else plain)

    return TOKEN.sub(opened, text)


def reveal(
    text: str, store: PersonalKeys, escape: Escape = keep, *, organization_id: str | None
) -> str:
    """``reveal_with`` the keys of ``store`` that belong to ``organization_id``, fetched
    in one query (none if no sealed string is in ``text``).

    Only the reader's own organization's texts open: an answer may echo what its
    caller sent (a header in an error message), and a sealed string planted there
    must not open with another organization's key. ``None`` (no known reader)
    opens nothing.
    """
    wanted = key_ids(text)
    if not wanted:
        return text
    found = {} if organization_id is None else store.keys(wanted)
    own = {k: key for k, key in found.items() if key.organization_id == organization_id}
    return reveal_with(text, own, escape)
