from django.conf import settings
from django.http import HttpRequest


def sign_in_options(request: HttpRequest) -> dict[str, object]:
    """What the login page offers: the provider's button, the password form, or both."""
    config = settings.CSVHUB_OIDC
    return {
        "sso_provider_name": config.provider_name if config.enabled else "",
        "password_login": settings.CSVHUB_PASSWORD_LOGIN,
    }
