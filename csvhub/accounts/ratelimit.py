"""Counting failures (bad passwords, bad tokens) and password reset requests in Django's cache, to
slow down guessing and flooding.

Fixed windows aligned on the clock: a key counts the failures of one window and expires with it,
so a lockout always ends by itself and the real user is never locked out for longer than one
window.

Every web process must see the same counts, or an attacker gets the limit once per process. The
counts live in the cache named by CSVHUB_RATELIMIT_CACHE (Redis when CSVHUB_CACHE_URL is set;
only `add`, `incr` and `delete` are used, so any backend works), or, when it is empty (the
embedded default, whose cache is each process's own LocMemCache), in the metadata database,
counted with an atomic UPDATE.
"""

from __future__ import annotations

import hashlib
import math
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.db.models import F
from django.http import HttpRequest, HttpResponse

from csvhub.accounts.models import FailureCount

# Patched by tests to move through windows without sleeping.
clock: Callable[[], float] = time.time


@dataclass(frozen=True)
class Limit:
    """At most `failures` failures per `window` seconds for one identity within `scope`."""

    scope: str
    failures: int
    window: int


def _configured(scope: str, failures: str, window: str) -> Limit:
    """A limit whose numbers are read from the named settings now (tests change them)."""
    return Limit(scope, failures=getattr(settings, failures), window=getattr(settings, window))


def login_limit() -> Limit:
    return _configured("login", "CSVHUB_LOGIN_FAILURE_LIMIT", "CSVHUB_FAILURE_WINDOW_SECONDS")


def token_limit() -> Limit:
    return _configured("token", "CSVHUB_TOKEN_FAILURE_LIMIT", "CSVHUB_FAILURE_WINDOW_SECONDS")


def password_reset_limit() -> Limit:
    """Every request counts here, not only failures: each one may send an email."""
    return _configured(
        "password_reset", "CSVHUB_PASSWORD_RESET_LIMIT", "CSVHUB_PASSWORD_RESET_WINDOW_SECONDS"
    )


def invitation_mail_recipient_limit() -> Limit:
    """Invitation mails to one address, from any organization: nobody's inbox is flooded."""
    return _configured(
        "invitation_mail_recipient",
        "CSVHUB_INVITATION_MAIL_LIMIT",
        "CSVHUB_INVITATION_MAIL_WINDOW_SECONDS",
    )


def invitation_mail_organization_limit() -> Limit:
    """Invitation mails sent for one organization: no admin sends them in bulk."""
    return _configured(
        "invitation_mail_organization",
        "CSVHUB_INVITATION_MAIL_ORGANIZATION_LIMIT",
        "CSVHUB_INVITATION_MAIL_WINDOW_SECONDS",
    )


def login_identity(request: HttpRequest) -> str:
    """Who a sign-in attempt counts against: the username tried and the client address.

    The username is normalized as Django's UsernameField does before authenticating (NFKC), then
    casefolded, so that look-alike spellings of one name (fullwidth letters, other cases) share
    one count instead of each starting afresh."""
    username = unicodedata.normalize("NFKC", request.POST.get("username", "")).strip().casefold()
    return f"{username}\n{client_ip(request)}"


def password_reset_attempt(request: HttpRequest) -> int | None:
    """Count a password reset request against its client address and the email it names;
    return the seconds to wait when either is at the limit (then nothing is counted)."""
    limit = password_reset_limit()
    email = unicodedata.normalize("NFKC", request.POST.get("email", "")).strip().casefold()
    identities = [f"address\n{client_ip(request)}"] + ([f"email\n{email}"] if email else [])
    return attempt_record(*((limit, identity) for identity in identities))


def too_many(response: HttpResponse, wait: int) -> HttpResponse:
    """`response` (a page saying how long to wait) made a 429 with Retry-After."""
    response.status_code = 429
    response["Retry-After"] = str(wait)
    return response


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind CSVHUB_TRUSTED_PROXY_COUNT reverse proxies
    the address the outermost of them saw (counted from the right of X-Forwarded-For; entries
    further left are written by the client and can be forged)."""
    proxies: int = getattr(settings, "CSVHUB_TRUSTED_PROXY_COUNT", 0)
    header: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
    forwarded = [a.strip() for a in header.split(",")]
    forwarded = [a for a in forwarded if a]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    remote: str | None = request.META.get("REMOTE_ADDR")
    return remote or "unknown"


def retry_after(limit: Limit, identity: str) -> int | None:
    """Seconds until `identity` may try again, or None when it is under the limit."""
    now = clock()
    if _counts().get(_key(limit, identity, now)) < limit.failures:
        return None
    return _seconds_left(limit, now)


def failure_record(limit: Limit, identity: str) -> None:
    now = clock()
    _counts().add_one(_key(limit, identity, now), now=now, ends=now + _seconds_left(limit, now))


def attempt_record(*counts: tuple[Limit, str]) -> int | None:
    """For actions where every attempt counts (each may send a mail): when any (limit, identity)
    is at its limit, return the seconds to wait (the longest) and record nothing; otherwise
    record one attempt for each and return None."""
    waits = [retry_after(limit, identity) for limit, identity in counts]
    wait = max((w for w in waits if w is not None), default=None)
    if wait is None:
        for limit, identity in counts:
            failure_record(limit, identity)
    return wait


def failures_clear(limit: Limit, identity: str) -> None:
    _counts().delete(_key(limit, identity, clock()))


class Counts(Protocol):
    """Where the counts live; `add_one` is atomic across the processes that share it. A key
    is read until `ends`, when its window is over."""

    def get(self, key: str) -> int: ...

    def add_one(self, key: str, *, now: float, ends: float) -> None: ...

    def delete(self, key: str) -> None: ...


class CacheCounts:
    """Counts in a Django cache: atomic across processes when the cache is shared (Redis)."""

    def __init__(self, cache: BaseCache) -> None:
        self.cache = cache

    def get(self, key: str) -> int:
        count: int = self.cache.get(key, 0)
        return count

    def add_one(self, key: str, *, now: float, ends: float) -> None:
        # Outlive the window slightly so a late increment never recreates a key without a
        # timeout.
        lifetime = math.ceil(ends - now) + 1
        self.cache.add(key, 0, timeout=lifetime)
        try:
            self.cache.incr(key)
        except ValueError:  # the key expired between add and incr
            self.cache.add(key, 1, timeout=lifetime)

    def delete(self, key: str) -> None:
        self.cache.delete(key)


class DatabaseCounts:
    """Counts in the metadata database, shared by every process of the embedded default.

    An increment is one UPDATE count = count + 1, atomic on every database; the first failure
    of a window inserts the row (a concurrent insert of the same key is ignored, and both
    increments land) and deletes the rows of windows that are over."""

    def get(self, key: str) -> int:
        count = FailureCount.objects.filter(key=key).values_list("count", flat=True).first()
        return count or 0

    def add_one(self, key: str, *, now: float, ends: float) -> None:
        if self._increment(key):
            return
        FailureCount.objects.filter(expires__lte=now).delete()
        FailureCount.objects.bulk_create(
            [FailureCount(key=key, count=0, expires=ends)], ignore_conflicts=True
        )
        self._increment(key)

    def delete(self, key: str) -> None:
        FailureCount.objects.filter(key=key).delete()

    def _increment(self, key: str) -> bool:
        return FailureCount.objects.filter(key=key).update(count=F("count") + 1) == 1


def _counts() -> Counts:
    alias: str = getattr(settings, "CSVHUB_RATELIMIT_CACHE", "")
    return CacheCounts(caches[alias]) if alias else DatabaseCounts()


def _key(limit: Limit, identity: str, now: float) -> str:
    window_index = int(now // limit.window)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    return f"csvhub:ratelimit:{limit.scope}:{window_index}:{digest}"


def _seconds_left(limit: Limit, now: float) -> int:
    return max(1, math.ceil(limit.window - now % limit.window))
