"""Brute force: failed logins on /login/ and /admin/login/ (per username and address, one count
for both pages), password reset requests (per address and per email) and bad tokens (per
address) get 429 with Retry-After, and the lockout ends by itself when the window is over. A
valid token is never refused because of bad ones."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.http import HttpResponse
from django.test import Client, RequestFactory
from pytest_django.fixtures import Settings

from csvhub.accounts import ratelimit
from csvhub.accounts.models import FailureCount
from csvhub.accounts.tokens import token_generate
from tests.services import REDIS_URL, require

from .actors import PASSWORD, World

LIMIT, WINDOW = 3, 300
HOME, ELSEWHERE = "10.0.0.1", "10.0.0.2"


class Clock:
    """Stands in for ratelimit.clock, to move across rate-limit windows without sleeping."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    # A round start, so that a test's failures never straddle two windows.
    fake = Clock(start=1_800_000_000.0)
    monkeypatch.setattr(ratelimit, "clock", fake)
    return fake


@pytest.fixture(autouse=True)
def small_limits(settings: Settings) -> None:
    settings.CSVHUB_LOGIN_FAILURE_LIMIT = LIMIT
    settings.CSVHUB_TOKEN_FAILURE_LIMIT = LIMIT
    settings.CSVHUB_FAILURE_WINDOW_SECONDS = WINDOW


def _login(username: str, password: str, ip: str = HOME) -> HttpResponse:
    return Client(REMOTE_ADDR=ip).post("/login/", {"username": username, "password": password})


def _fail_logins(username: str, ip: str = HOME) -> None:
    for _ in range(LIMIT):
        assert _login(username, "wrong", ip).status_code == 200


def test_failed_logins_past_the_limit_get_429_with_retry_after(world: World, clock: Clock) -> None:
    _fail_logins("alice")

    response = _login("alice", "wrong")

    assert response.status_code == 429
    assert response["Retry-After"] == str(WINDOW)
    assert "Too many failed sign-ins" in response.content.decode()


def test_while_locked_even_the_right_password_gets_429(world: World, clock: Clock) -> None:
    _fail_logins("alice")

    assert _login("alice", PASSWORD).status_code == 429


def test_lockout_ends_when_the_window_is_over(world: World, clock: Clock) -> None:
    _fail_logins("alice")
    clock.advance(WINDOW - 10)
    assert _login("alice", PASSWORD)["Retry-After"] == "10"

    clock.advance(10)

    assert _login("alice", PASSWORD).status_code == 302


def test_lockout_is_per_address(world: World, clock: Clock) -> None:
    _fail_logins("alice", ip=ELSEWHERE)

    assert _login("alice", PASSWORD, ip=HOME).status_code == 302


def test_lockout_is_per_username(world: World, clock: Clock) -> None:
    _fail_logins("alice")

    assert _login("bob", PASSWORD).status_code == 302


def test_username_case_does_not_dodge_the_limit(world: World, clock: Clock) -> None:
    _fail_logins("ALICE")

    assert _login("alice", "wrong").status_code == 429


FULLWIDTH_ALICE = "\uff41lice"  # fullwidth "a": Django's form normalizes it (NFKC) to "alice"


def test_a_look_alike_spelling_does_not_dodge_the_limit_on_login(
    world: World, clock: Clock
) -> None:
    assert _login(FULLWIDTH_ALICE, PASSWORD, ip=ELSEWHERE).status_code == 302  # signs in as alice
    _fail_logins("alice")

    assert _login(FULLWIDTH_ALICE, PASSWORD).status_code == 429


def test_a_look_alike_spelling_does_not_dodge_the_limit_on_admin_login(
    world: World, clock: Clock
) -> None:
    _operator(world)
    _fail_logins(FULLWIDTH_ALICE.upper())

    assert _admin_login("alice", PASSWORD).status_code == 429


def test_success_clears_only_its_own_address(world: World, clock: Clock) -> None:
    for _ in range(LIMIT - 1):
        _login("alice", "wrong", ip=HOME)
    _fail_logins("alice", ip=ELSEWHERE)

    assert _login("alice", PASSWORD, ip=HOME).status_code == 302
    _fail_logins("alice", ip=HOME)  # the count at HOME started again from zero

    assert _login("alice", "wrong", ip=HOME).status_code == 429
    assert _login("alice", PASSWORD, ip=ELSEWHERE).status_code == 429


def _operator(world: World) -> None:
    world.alice.is_staff = world.alice.is_superuser = True
    world.alice.save()


def _admin_login(username: str, password: str, ip: str = HOME) -> HttpResponse:
    return Client(REMOTE_ADDR=ip).post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}
    )


def test_admin_login_is_limited_like_login(world: World, clock: Clock) -> None:
    _operator(world)
    for _ in range(LIMIT):
        assert _admin_login("alice", "wrong").status_code == 200

    response = _admin_login("alice", PASSWORD)

    assert response.status_code == 429
    assert response["Retry-After"] == str(WINDOW)
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in response.client.session
    clock.advance(WINDOW)
    assert _admin_login("alice", PASSWORD).status_code == 302


def test_admin_login_and_login_share_one_count(world: World, clock: Clock) -> None:
    _operator(world)
    _fail_logins("alice")

    assert _admin_login("alice", PASSWORD).status_code == 429
    assert _admin_login("alice", PASSWORD, ip=ELSEWHERE).status_code == 302


def test_admin_login_refuses_staff_who_are_not_operators(world: World, clock: Clock) -> None:
    world.alice.is_staff = True
    world.alice.save()

    response = _admin_login("alice", PASSWORD)

    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


RESET_LIMIT = 2


def _reset(email: str, ip: str = HOME) -> HttpResponse:
    return Client(REMOTE_ADDR=ip).post("/password-reset/", {"email": email})


@pytest.fixture
def reset_limit(settings: Settings) -> None:
    settings.CSVHUB_PASSWORD_RESET_LIMIT = RESET_LIMIT
    settings.CSVHUB_PASSWORD_RESET_WINDOW_SECONDS = WINDOW


def test_password_resets_are_throttled_per_email(
    world: World, clock: Clock, reset_limit: None
) -> None:
    for ip in ("10.0.0.5", "10.0.0.6"):
        assert _reset("alice@example.com", ip).status_code == 302

    response = _reset("ALICE@example.com", "10.0.0.7")

    assert response.status_code == 429
    assert response["Retry-After"] == str(WINDOW)
    assert "Too many reset requests" in response.content.decode()
    assert len(mail.outbox) == RESET_LIMIT
    assert _reset("bob@example.com", "10.0.0.7").status_code == 302


def test_password_resets_are_throttled_per_address(
    world: World, clock: Clock, reset_limit: None
) -> None:
    assert _reset("alice@example.com").status_code == 302
    assert _reset("nobody@example.com").status_code == 302

    assert _reset("bob@example.com").status_code == 429
    assert _reset("bob@example.com", ip=ELSEWHERE).status_code == 302
    clock.advance(WINDOW)
    assert _reset("carol@example.com").status_code == 302


def _bearer(text: str, ip: str = HOME) -> HttpResponse:
    return Client(REMOTE_ADDR=ip).get("/probe/view/", HTTP_AUTHORIZATION=f"Bearer {text}")


def _fail_tokens(ip: str = HOME) -> None:
    for _ in range(LIMIT):
        assert _bearer(token_generate().text, ip).status_code == 401


def test_bad_tokens_past_the_limit_get_429_with_retry_after(world: World, clock: Clock) -> None:
    _fail_tokens()

    response = _bearer(token_generate().text)

    assert response.status_code == 429
    assert response["Retry-After"] == str(WINDOW)
    assert response.json()["detail"].startswith("Too many invalid tokens from this address.")


def test_revoked_and_expired_tokens_count_as_bad(world: World, clock: Clock) -> None:
    for actor in ("revoked_token", "expired_token", "bad_token"):
        assert _bearer(world.token_text[actor]).status_code == 401

    assert _bearer(world.token_text["bad_token"]).status_code == 429


def test_bad_tokens_are_refused_with_429_until_the_window_ends(world: World, clock: Clock) -> None:
    _fail_tokens()
    assert _bearer(world.token_text["bad_token"]).status_code == 429

    clock.advance(WINDOW)

    assert _bearer(world.token_text["bad_token"]).status_code == 401


def test_a_valid_token_is_accepted_from_an_address_past_the_limit(
    world: World, clock: Clock
) -> None:
    """One client behind a NAT sending bad tokens must not lock out the others behind it."""
    for _ in range(LIMIT * 5):
        _bearer(token_generate().text)
    assert _bearer(token_generate().text).status_code == 429

    assert _bearer(world.token_text["viewer"]).status_code == 200
    assert _bearer(world.token_text["admin"]).status_code == 200
    assert _bearer(token_generate().text).status_code == 429  # the bad ones stay refused


def test_bad_tokens_from_one_address_do_not_lock_out_another(world: World, clock: Clock) -> None:
    _fail_tokens(ip=ELSEWHERE)

    assert _bearer(world.token_text["viewer"], ip=HOME).status_code == 200


def test_good_tokens_do_not_count(world: World, clock: Clock) -> None:
    for _ in range(LIMIT * 2):
        assert _bearer(world.token_text["viewer"]).status_code == 200


def _cache_config(backend: str, tmp_path: Path) -> dict:
    if backend == "redis":
        require(REDIS_URL, "CSVHUB_TEST_REDIS_URL")
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    return {
        "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "file": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path),
        },
        "database": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "csvhub_test_ratelimit",
        },
    }[backend]


@pytest.mark.parametrize(
    "backend",
    [
        "metadata database",  # the embedded default: no cache named
        "locmem",
        "file",
        "database",
        pytest.param("redis", marks=pytest.mark.redis),
    ],
)
def test_limits_work_with_any_cache_backend(
    world: World, clock: Clock, settings: Settings, tmp_path: Path, backend: str
) -> None:
    if backend == "metadata database":
        settings.CSVHUB_RATELIMIT_CACHE = ""
    else:
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "ratelimit": _cache_config(backend, tmp_path),
        }
        settings.CSVHUB_RATELIMIT_CACHE = "ratelimit"
    if backend == "database":
        call_command("createcachetable", verbosity=0)
    identity = f"test-{uuid.uuid4()}"  # fresh keys, even on a shared Redis
    limit = ratelimit.login_limit()

    for _ in range(LIMIT):
        assert ratelimit.retry_after(limit, identity) is None
        ratelimit.failure_record(limit, identity)

    assert ratelimit.retry_after(limit, identity) == WINDOW
    clock.advance(WINDOW)
    assert ratelimit.retry_after(limit, identity) is None


def test_the_embedded_default_counts_in_the_metadata_database_and_forgets_old_windows(
    world: World, clock: Clock, settings: Settings
) -> None:
    """Every web process reads the same counts (csvhub serve runs several), and the rows of
    windows that are over are deleted when a new window's first failure is counted."""
    settings.CSVHUB_RATELIMIT_CACHE = ""
    limit = ratelimit.login_limit()
    for _ in range(LIMIT):
        ratelimit.failure_record(limit, "alice")
    assert list(FailureCount.objects.values_list("count", flat=True)) == [LIMIT]

    clock.advance(WINDOW + 1)
    ratelimit.failure_record(limit, "bob")

    assert list(FailureCount.objects.values_list("count", flat=True)) == [1]
    assert ratelimit.retry_after(limit, "alice") is None


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.1"),  # no trusted proxy: the header is the client's word
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # a forged entry on the left is ignored
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.7", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.1"),  # fewer entries than proxies: fall back to the peer
    ],
)
def test_client_address_behind_trusted_proxies(
    settings: Settings, proxies: int, forwarded: str, expected: str
) -> None:
    settings.CSVHUB_TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=HOME, HTTP_X_FORWARDED_FOR=forwarded)

    assert ratelimit.client_ip(request) == expected
