"""Reading settings from the environment, failing loudly on values that make no sense.

Kept free of Django so that settings.py, the CLI and the tests share one reading of each variable.
"""

from __future__ import annotations

import os
from typing import TypedDict
from urllib.parse import parse_qs, urlsplit


class ConfigError(ValueError):
    """An environment variable holds a value csvhub cannot use."""


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean; use true or false.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(parse_size(raw))
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}.")
    return value


def env_float(name: str, default: float, *, minimum: float, maximum: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number.") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name}={raw!r} must lie between {minimum} and {maximum}.")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name) or default
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of: {', '.join(choices)}.")
    return value


_SIZE_SUFFIXES = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(raw: str) -> int:
    """Read '500', '64M' or '10G' (powers of 1024) as a number of bytes."""
    text = raw.strip().lower().removesuffix("b").removesuffix("i")
    if text and text[-1] in _SIZE_SUFFIXES:
        return int(float(text[:-1]) * _SIZE_SUFFIXES[text[-1]])
    return int(text)


class StorageEntry(TypedDict):
    """One entry of Django's STORAGES setting."""

    BACKEND: str
    OPTIONS: dict[str, object]


def storage_backend(url: str, *, default_root: str) -> StorageEntry:
    """Translate CSVHUB_STORAGE_URL into a Django STORAGES entry.

    `file:///srv/csvhub/files` (or a plain path) keeps files on local disk;
    `s3://bucket/prefix?endpoint_url=http://minio:9000&region=eu-west-1` uses django-storages.
    """
    if not url:
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": default_root},
        }
    parts = urlsplit(url)
    if parts.scheme in ("", "file"):
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": parts.path or default_root},
        }
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ConfigError(
                f"CSVHUB_STORAGE_URL={url!r} names no bucket: use s3://bucket/prefix."
            )
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        options: dict[str, object] = {
            "bucket_name": parts.netloc,
            "location": parts.path.strip("/"),
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": False,
        }
        if "endpoint_url" in query:
            options["endpoint_url"] = query["endpoint_url"]
        if "region" in query:
            options["region_name"] = query["region"]
        return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
    raise ConfigError(
        f"CSVHUB_STORAGE_URL={url!r}: unknown scheme {parts.scheme!r}; use file:// or s3://."
    )
