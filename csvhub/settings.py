"""csvhub settings: one module, driven by CSVHUB_* environment variables (docs/configuration.md).

The embedded default needs no server: SQLite for Django and for the warehouse, files under
CSVHUB_DATA_DIR, ingestion jobs on threads inside the web process.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url

from csvhub.config import (
    ConfigError,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_str,
    storage_backend,
)

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env_str("CSVHUB_DATA_DIR", str(Path.cwd() / "data"))).resolve()


def _secret_key() -> str:
    """Use CSVHUB_SECRET_KEY, or keep a generated one in the data dir for the embedded default."""
    configured = env_str("CSVHUB_SECRET_KEY", "")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("CSVHUB_DEBUG", False)
ALLOWED_HOSTS = [
    h for h in env_str("CSVHUB_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in env_str("CSVHUB_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "csvhub.accounts",
    "csvhub.datasets",
    "csvhub.jobs",
    "csvhub.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "csvhub.urls"
WSGI_APPLICATION = "csvhub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csvhub.accounts.context_processors.organizations",
            ],
        },
    },
]


def _database(url: str, variable: str) -> dict:
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise ConfigError(f"{variable}={url!r}: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the web process read while a worker writes; the timeout waits out short locks.
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        config["CONN_MAX_AGE"] = 0
    return config


DATABASES = {
    "default": _database(
        env_str("CSVHUB_DATABASE_URL", f"sqlite:///{DATA_DIR / 'csvhub.sqlite3'}"),
        "CSVHUB_DATABASE_URL",
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The warehouse holds the rows; it is reached through SQLAlchemy, never through Django's ORM.
CSVHUB_WAREHOUSE_URL = env_str(
    "CSVHUB_WAREHOUSE_URL", f"sqlite:///{DATA_DIR / 'warehouse.sqlite3'}"
)

STORAGES = {
    "default": storage_backend(
        env_str("CSVHUB_STORAGE_URL", ""), default_root=str(DATA_DIR / "files")
    ),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Background jobs. "thread" runs them inside the web process (embedded default); "celery" hands
# them to Celery workers through CSVHUB_BROKER_URL; "immediate" runs them inline (tests, scripts).
CSVHUB_TASK_RUNNER = env_choice("CSVHUB_TASK_RUNNER", "thread", ("thread", "celery", "immediate"))
CSVHUB_BROKER_URL = env_str("CSVHUB_BROKER_URL", "redis://127.0.0.1:6379/0")
CSVHUB_WORKER_THREADS = env_int("CSVHUB_WORKER_THREADS", 2, minimum=1)
TASKS = {
    "default": {
        "BACKEND": {
            "thread": "csvhub.jobs.backends.ThreadBackend",
            "celery": "csvhub.jobs.backends.CeleryBackend",
            "immediate": "django.tasks.backends.immediate.ImmediateBackend",
        }[CSVHUB_TASK_RUNNER],
        "OPTIONS": {"threads": CSVHUB_WORKER_THREADS, "broker_url": CSVHUB_BROKER_URL},
    }
}
# A running job whose heartbeat is older than this is taken to be dead and is run again.
CSVHUB_JOB_STALE_SECONDS = env_int("CSVHUB_JOB_STALE_SECONDS", 120, minimum=5)
CSVHUB_JOB_MAX_ATTEMPTS = env_int("CSVHUB_JOB_MAX_ATTEMPTS", 3, minimum=1)

# Ingestion limits.
CSVHUB_MAX_UPLOAD_BYTES = env_int("CSVHUB_MAX_UPLOAD_BYTES", 20 * 1024**3, minimum=1)
CSVHUB_MAX_REJECT_RATIO = env_float("CSVHUB_MAX_REJECT_RATIO", 0.1, minimum=0.0, maximum=1.0)
CSVHUB_MAX_STORED_REJECTS = env_int("CSVHUB_MAX_STORED_REJECTS", 10_000, minimum=0)
# Uploads at least this big are parsed in a child process, beside inference and loading.
CSVHUB_CHILD_READER_MIN_BYTES = env_int(
    "CSVHUB_CHILD_READER_MIN_BYTES", 16 * 1024 * 1024, minimum=0
)

# Query limits (docs/api.md, "Limits"): filters and sort keys per request, and how long one
# read may run on the warehouse before it is stopped with a 503 (0: no limit). Streamed exports
# have their own, longer limit, and are also cancelled when the client goes away.
CSVHUB_MAX_FILTERS = env_int("CSVHUB_MAX_FILTERS", 50, minimum=1)
CSVHUB_MAX_SORT_KEYS = env_int("CSVHUB_MAX_SORT_KEYS", 8, minimum=1)
CSVHUB_QUERY_TIMEOUT_SECONDS = env_float(
    "CSVHUB_QUERY_TIMEOUT_SECONDS", 30.0, minimum=0.0, maximum=86400.0
)
CSVHUB_EXPORT_TIMEOUT_SECONDS = env_float(
    "CSVHUB_EXPORT_TIMEOUT_SECONDS", 3600.0, minimum=0.0, maximum=86400.0
)

# Uploads stream through temporary files, never through memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024**2
FILE_UPLOAD_HANDLERS = ["csvhub.datasets.upload_handler.SpoolingUploadHandler"]
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024**2
FILE_UPLOAD_TEMP_DIR = env_str("CSVHUB_UPLOAD_TEMP_DIR", "") or None

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Brute-force limits: failures per username+address (logins) and per address (bad tokens)
# inside a sliding window. With several web processes, point CACHES at Redis so they share counts.
CSVHUB_LOGIN_FAILURE_LIMIT = env_int("CSVHUB_LOGIN_FAILURE_LIMIT", 10, minimum=1)
CSVHUB_TOKEN_FAILURE_LIMIT = env_int("CSVHUB_TOKEN_FAILURE_LIMIT", 20, minimum=1)
CSVHUB_FAILURE_WINDOW_SECONDS = env_int("CSVHUB_FAILURE_WINDOW_SECONDS", 300, minimum=1)
CSVHUB_TRUSTED_PROXY_COUNT = env_int("CSVHUB_TRUSTED_PROXY_COUNT", 0, minimum=0)
CSVHUB_CACHE_URL = env_str("CSVHUB_CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CSVHUB_CACHE_URL}
        if CSVHUB_CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"

MAILERS = {
    "default": {
        "BACKEND": env_str("CSVHUB_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
    }
}
DEFAULT_FROM_EMAIL = env_str("CSVHUB_FROM_EMAIL", "csvhub@localhost")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "csvhub.accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "csvhub.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "csvhub API",
    "DESCRIPTION": "Upload CSV files, query their rows, analyse them. See docs/api.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("CSVHUB_LOG_LEVEL", "INFO")},
}
