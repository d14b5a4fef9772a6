"""Source credentials at rest: encrypted with Fernet under a key derived from SECRET_KEY
(or CSVHUB_SOURCE_SECRET_KEY when set, so SECRET_KEY can rotate without losing them)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class SecretUnreadable(Exception):
    """The stored credentials were encrypted with another key."""


def _fernet() -> Fernet:
    material = settings.CSVHUB_SOURCE_SECRET_KEY or settings.SECRET_KEY
    digest = hashlib.sha256(b"csvhub.sources.secrets:" + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def secret_seal(values: dict[str, Any]) -> str:
    """Encrypt `values` (JSON); an empty dict stores nothing."""
    if not values:
        return ""
    return _fernet().encrypt(json.dumps(values).encode()).decode()


def secret_open(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        opened: dict[str, Any] = json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise SecretUnreadable(
            "This source's credentials were stored under another key (SECRET_KEY or "
            "CSVHUB_SOURCE_SECRET_KEY changed); enter them again."
        ) from None
    return opened
