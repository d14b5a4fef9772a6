"""Fixtures of the single sign-on tests: one OpenID provider for the session, and csvhub
configured to trust it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from csvhub.sso import provider as sso_provider
from tests.accounts.actors import World, world  # noqa: F401  (fixture)
from tests.sso.provider import Idp, idp_started


@pytest.fixture(scope="session")
def idp(live_server) -> Iterator[Idp]:
    started = idp_started(live_server.url)
    yield started
    started.stop()


@pytest.fixture
def sso(idp: Idp, settings, world: World, monkeypatch) -> Idp:  # noqa: F811
    """csvhub trusting the provider, with the rules of tests.sso.provider.RULES."""
    config = idp.config()
    settings.CSVHUB_OIDC = config
    settings.SECURE_CSP = {
        **settings.SECURE_CSP,
        "form-action": ["'self'", *config.form_action_origins],
    }
    # Each test starts from a fresh discovery document and key set, as a new process would.
    # Tests rotate keys seconds apart; production refetches at most every 30 s.
    monkeypatch.setattr(sso_provider, "KEY_REFRESH_COOLDOWN_SECONDS", 0.0)
    sso_provider.web_client.cache_clear()
    sso_provider.key_set.cache_clear()
    return idp
