"""csvhub's mail: one mailer configured from the environment (settings.MAILERS) and one way to
send, used by password resets, invitations and alarms alike.

Mail bodies keep their lines whole: Python's email package wraps any line longer than 78
characters with quoted-printable soft breaks (`=` at the end of the line, `=3D` for `=`),
which breaks the long links csvhub sends (password links, invitation links) wherever a reader
shows the raw text: the console backend's log, plain-text mail clients, copy and paste.
"""

from __future__ import annotations

import email.message
import email.policy
from collections.abc import Mapping, Sequence
from email.policy import Policy
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from csvhub.config import ConfigError, env_bool, env_int, env_str

# RFC 5322's limit for a line: links shorter than this travel as they are (7bit, or 8bit when
# the text is not ASCII and the server accepts it).
MAX_LINE_LENGTH = 998
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"


class WholeLinesEmail(EmailMultiAlternatives):
    """Django's message, built with a policy that does not wrap lines under 998 characters."""

    def message(self, *, policy: Policy | None = None) -> email.message.EmailMessage:
        wide = (policy or email.policy.default).clone(max_line_length=MAX_LINE_LENGTH)
        return super().message(policy=wide)


def mail_goes_nowhere() -> bool:
    """True with the console mailer (the embedded default): mails only reach the server's log,
    so the UI shows what they carry (the invitation link) for an admin to pass on."""
    backend: str = settings.MAILERS.get("default", {}).get("BACKEND", "")
    return backend == CONSOLE_BACKEND


def mail_send(
    *,
    subject: str,
    body: str,
    to: Sequence[str],
    html: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> int:
    """Send one mail through the default mailer (raises on failure, like send_mail)."""
    message = WholeLinesEmail(subject=subject, body=body, to=list(to), headers=dict(headers or {}))
    if html is not None:
        message.attach_alternative(html, "text/html")
    return message.send()


def mailers_from_env() -> dict[str, dict[str, Any]]:
    """settings.MAILERS: SMTP when CSVHUB_EMAIL_HOST is set, else CSVHUB_EMAIL_BACKEND."""
    host = env_str("CSVHUB_EMAIL_HOST", "")
    backend = env_str("CSVHUB_EMAIL_BACKEND", "") or (SMTP_BACKEND if host else CONSOLE_BACKEND)
    if backend != SMTP_BACKEND:
        return {"default": {"BACKEND": backend}}
    if not host:
        raise ConfigError("CSVHUB_EMAIL_BACKEND is SMTP: set CSVHUB_EMAIL_HOST too.")
    use_tls = env_bool("CSVHUB_EMAIL_TLS", False)
    use_ssl = env_bool("CSVHUB_EMAIL_SSL", False)
    if use_tls and use_ssl:
        raise ConfigError(
            "CSVHUB_EMAIL_TLS (STARTTLS, usually port 587) and CSVHUB_EMAIL_SSL (TLS from the "
            "first byte, usually port 465) exclude each other: set one."
        )
    options: dict[str, Any] = {
        "host": host,
        "port": env_int("CSVHUB_EMAIL_PORT", 465 if use_ssl else 587 if use_tls else 25, minimum=1),
        "username": env_str("CSVHUB_EMAIL_USER", ""),
        "password": env_str("CSVHUB_EMAIL_PASSWORD", ""),
        "use_tls": use_tls,
        "use_ssl": use_ssl,
        "timeout": env_int("CSVHUB_EMAIL_TIMEOUT", 30, minimum=1),
    }
    return {"default": {"BACKEND": SMTP_BACKEND, "OPTIONS": options}}
