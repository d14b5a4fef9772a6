"""csvhub's one mailer: SMTP from the environment, and mails whose links survive as written."""

from __future__ import annotations

import pytest
from django.core import mail

from csvhub.config import ConfigError
from csvhub.mail import mail_send, mailers_from_env

LINK = "http://127.0.0.1:8000/password-reset/MQ/cz8k1l-0123456789abcdef0123456789abcdef/?next=/x"


def test_long_link_is_not_cut_by_quoted_printable_wrapping(settings) -> None:
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    mail_send(subject="Choose a password", body=f"Open {LINK} to choose one.\n", to=["a@x.example"])

    [sent] = mail.outbox
    raw = sent.message().as_string()
    assert LINK in raw
    assert "quoted-printable" not in raw


def test_smtp_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("CSVHUB_EMAIL_HOST", "smtp.example")
    monkeypatch.setenv("CSVHUB_EMAIL_USER", "csvhub")
    monkeypatch.setenv("CSVHUB_EMAIL_PASSWORD", "secret")
    monkeypatch.setenv("CSVHUB_EMAIL_TLS", "true")

    [(alias, mailer)] = mailers_from_env().items()

    assert alias == "default"
    assert mailer["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert mailer["OPTIONS"] == {
        "host": "smtp.example",
        "port": 587,
        "username": "csvhub",
        "password": "secret",
        "use_tls": True,
        "use_ssl": False,
        "timeout": 30,
    }


def test_console_without_a_host() -> None:
    assert mailers_from_env() == {
        "default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    }


def test_tls_and_ssl_together_are_refused(monkeypatch) -> None:
    monkeypatch.setenv("CSVHUB_EMAIL_HOST", "smtp.example")
    monkeypatch.setenv("CSVHUB_EMAIL_TLS", "true")
    monkeypatch.setenv("CSVHUB_EMAIL_SSL", "true")
    with pytest.raises(ConfigError, match="exclude each other"):
        mailers_from_env()
