from __future__ import annotations

from collections.abc import Callable

import pytest
from pytest_django.fixtures import Settings

from .actors import api_as, world  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def accounts_urls(settings: Settings) -> None:
    settings.ROOT_URLCONF = f"{__package__}.urls"


@pytest.fixture
def bearer() -> Callable[[str], dict[str, str]]:
    return lambda text: {"HTTP_AUTHORIZATION": f"Bearer {text}"}
