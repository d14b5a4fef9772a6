"""The API token format: `csvhub_<prefix>_<secret>`.

The prefix (10 hex characters) is stored in clear so people can tell their tokens apart; the
whole token is stored only as its sha256, which is enough for a 256-bit random secret (no
password stretching needed: nobody can guess their way to a preimage).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

TOKEN_KEYWORD = "csvhub"
_PREFIX_BYTES = 5
_SECRET_BYTES = 32


@dataclass(frozen=True)
class NewToken:
    text: str
    prefix: str
    digest: str


def token_generate() -> NewToken:
    prefix = secrets.token_hex(_PREFIX_BYTES)
    text = f"{TOKEN_KEYWORD}_{prefix}_{secrets.token_urlsafe(_SECRET_BYTES)}"
    return NewToken(text=text, prefix=prefix, digest=token_digest(text))


def token_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def token_looks_valid(text: str) -> bool:
    """Cheap shape check, so garbage never reaches the database."""
    keyword, _, rest = text.partition("_")
    prefix, _, secret = rest.partition("_")
    return (
        keyword == TOKEN_KEYWORD
        and len(prefix) == 2 * _PREFIX_BYTES
        and all(c in "0123456789abcdef" for c in prefix)
        and 40 <= len(secret) <= 64
        and secret.isascii()
    )
