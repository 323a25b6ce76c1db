"""Identifiers the ledger format uses: work kinds, git object ids, event ids, fingerprints.

One definition each, shared by the event codec, the configuration and the store.
"""

from __future__ import annotations

import re

KIND = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}\Z")
OBJECT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")  # SHA-1 or SHA-256 repositories
EVENT_ID = re.compile(r"[0-9a-f]{32}\Z")
FINGERPRINT = re.compile(r"[0-9a-f]{16}\Z")
NONE = "none"  # the fingerprint of a kind with no matching files

# Rights classes (LEDGER.md §3.2): which events a key may sign, one SSHSIG namespace each.
BUILDS = "build"
DEPLOYS = "deploy"
PEOPLE = "people"
RIGHTS = (BUILDS, DEPLOYS, PEOPLE)
LEGACY_NAMESPACE = "deploy-ledger"  # format 1: one namespace for everything


def namespace(rights: str) -> str:
    """The SSHSIG namespace of a rights class: ``deploy-ledger.build`` and so on."""
    return f"{LEGACY_NAMESPACE}.{rights}"


def is_kind(text: object) -> bool:
    """Whether ``text`` is a valid work-kind name."""
    return isinstance(text, str) and KIND.match(text) is not None


def is_object_id(text: object) -> bool:
    """Whether ``text`` is a full lowercase git object id."""
    return isinstance(text, str) and OBJECT_ID.match(text) is not None


def is_fingerprint(text: object) -> bool:
    """Whether ``text`` is a work fingerprint: 16 lowercase hex digits or ``none``."""
    return isinstance(text, str) and (text == NONE or FINGERPRINT.match(text) is not None)
