"""csvhub settings: one module, driven by CSVHUB_* environment variables (docs/configuration.md).

The embedded default needs no server: SQLite for Django and for the warehouse, files under
CSVHUB_DATA_DIR, ingestion jobs on threads inside the web process.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path
from typing import TextIO

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from csvhub.config import (
    ConfigError,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_str,
    storage_backend,
)
from csvhub.mail import mailers_from_env
from csvhub.sso.config import oidc_config_from_env
from csvhub.warehouse.dialects import check_processes

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env_str("CSVHUB_DATA_DIR", str(Path.cwd() / "data"))).resolve()

# What csvhub writes (session keys, password hashes, warehouse rows, uploaded originals) is for
# its own user only: directories 0700 and files 0600 from the moment they are created.
os.umask(0o077)


def _secret_key() -> str:
    """Use CSVHUB_SECRET_KEY, or keep a generated one in the data dir for the embedded default."""
    configured = env_str("CSVHUB_SECRET_KEY", "")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        _secret_key_write(key_file, secrets.token_urlsafe(50))
    return key_file.read_text().strip()


def _secret_key_write(key_file: Path, key: str) -> None:
    """Write the key for csvhub's user alone; a second process starting at once keeps the first."""
    # Written and synced under a private name (mkstemp makes it 0600), then linked into place:
    # no process ever reads a half-written key.
    fd, written = tempfile.mkstemp(dir=key_file.parent, prefix=".secret_key.")
    try:
        with os.fdopen(fd, "w") as file:
            _write_synced(file, key)
        try:
            os.link(written, key_file)
        except FileExistsError:
            pass
        except OSError:
            # No hard links on this filesystem (some network, FUSE and FAT mounts).
            _secret_key_create(key_file, key)
    finally:
        os.unlink(written)


def _secret_key_create(key_file: Path, key: str) -> None:
    # O_EXCL still lets one process win; the key is 0600 from the start.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as file:
        _write_synced(file, key)


def _write_synced(file: TextIO, text: str) -> None:
    file.write(text)
    file.flush()
    os.fsync(file.fileno())


SECRET_KEY = _secret_key()
DEBUG = env_bool("CSVHUB_DEBUG", False)
ALLOWED_HOSTS = [
    h for h in env_str("CSVHUB_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in env_str("CSVHUB_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "csvhub.accounts.apps.OperatorAdminConfig",  # django.contrib.admin, operators only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csvhub.accounts",
    "csvhub.datasets",
    "csvhub.appends",
    "csvhub.compat",
    "csvhub.jobs",
    "csvhub.scheduling",
    "csvhub.sources",
    "csvhub.outbox",
    "csvhub.alarms",
    "csvhub.lifecycle",
    "csvhub.facets",
    "csvhub.edits",
    "csvhub.cleaning",
    "csvhub.web",
    "csvhub.metrics",
    "csvhub.sso",
]

MIDDLEWARE = [
    # First: it counts and times every answer, those of the middleware below included.
    "csvhub.metrics.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise: static files keep their own caching; every other answer is no-store.
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "csvhub.headers.ResponseHeadersMiddleware",
    # Django's session, CSRF, user and messages middleware, passed over by API calls with a
    # Bearer token, which need none of them (csvhub.accounts.middleware).
    "csvhub.accounts.middleware.BrowserSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "csvhub.accounts.middleware.BrowserCsrfMiddleware",
    "csvhub.accounts.middleware.BrowserAuthenticationMiddleware",
    "csvhub.accounts.middleware.BrowserMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The pages load scripts, styles and images from csvhub itself only, and run no inline code.
SECURE_CSP: dict[str, list[str]] = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

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
                "csvhub.sso.context_processors.sign_in_options",
            ],
        },
    },
]


def _database(url: str, variable: str) -> dj_database_url.DBConfig:
    # Connections are kept for a minute and checked when a request first uses one (a no-op on
    # SQLite): opening one cost 0.5-0.9 ms of every request. Django keeps one per thread, so
    # gunicorn's request threads never share one.
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
    # Files named by their content (`collectstatic` writes the manifest; `csvhub serve` and the
    # image run it before serving): a deploy never pairs an old cached script with a new one,
    # and Whitenoise serves the hashed names as cacheable for good.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
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
            "immediate": "csvhub.jobs.backends.InlineBackend",
        }[CSVHUB_TASK_RUNNER],
        "OPTIONS": {"threads": CSVHUB_WORKER_THREADS, "broker_url": CSVHUB_BROKER_URL},
    }
}
# An embedded warehouse that one process opens (DuckDB) cannot be written by Celery workers:
# refused here, at startup, rather than at the first job's lock error.
try:
    check_processes(CSVHUB_WAREHOUSE_URL, task_runner=CSVHUB_TASK_RUNNER)
except ValueError as error:
    raise ImproperlyConfigured(str(error)) from None
# A running job whose heartbeat is older than this is taken to be dead and is run again.
CSVHUB_JOB_STALE_SECONDS = env_int("CSVHUB_JOB_STALE_SECONDS", 120, minimum=5)
CSVHUB_JOB_MAX_ATTEMPTS = env_int("CSVHUB_JOB_MAX_ATTEMPTS", 3, minimum=1)
# Bulk edits (csvhub.edits): an edit selecting more rows than this runs as a background job
# with progress; smaller ones are applied within the request. Large edits are journaled and
# applied in chunks of this many row ids (one transaction still). The journal of an edit (its
# old values, what undo needs) is kept this many days (0: forever); see docs/configuration.md
# for its storage cost.
CSVHUB_EDIT_INLINE_ROWS = env_int("CSVHUB_EDIT_INLINE_ROWS", 100_000, minimum=0)
CSVHUB_EDIT_CHUNK_ROWS = env_int("CSVHUB_EDIT_CHUNK_ROWS", 1_000_000, minimum=1000)
CSVHUB_EDIT_JOURNAL_DAYS = env_int("CSVHUB_EDIT_JOURNAL_DAYS", 90, minimum=0)
# Periodic jobs (csvhub.scheduling): how often each process (`csvhub serve` with the thread
# runner, every `csvhub worker` with Celery) looks for due jobs; 0 turns the scheduler off here.
CSVHUB_SCHEDULER_SECONDS = env_int("CSVHUB_SCHEDULER_SECONDS", 15, minimum=0)
# Retention (csvhub.lifecycle): how often the job deletes what is due, and the rows it deletes
# per warehouse transaction (a load of the same dataset waits for one chunk at most).
CSVHUB_RETENTION_EVERY_SECONDS = env_int("CSVHUB_RETENTION_EVERY_SECONDS", 3600, minimum=60)
CSVHUB_RETENTION_CHUNK_ROWS = env_int("CSVHUB_RETENTION_CHUNK_ROWS", 50_000, minimum=1)
# Simetric's and Thena's upload endpoints (csvhub.compat) wait this long for the file to load
# before answering, so their clients' scripts can query right after uploading; 0: answer at once.
# A waiting upload holds a request thread: at most CSVHUB_COMPAT_UPLOAD_WAITERS wait at once per
# process (default 1, a quarter of the Dockerfile's 4 gunicorn threads); the others answer at once.
CSVHUB_COMPAT_UPLOAD_WAIT_SECONDS = env_int("CSVHUB_COMPAT_UPLOAD_WAIT_SECONDS", 5, minimum=0)
CSVHUB_COMPAT_UPLOAD_WAITERS = env_int("CSVHUB_COMPAT_UPLOAD_WAITERS", 1, minimum=1)

# Ingestion limits.
CSVHUB_MAX_UPLOAD_BYTES = env_int("CSVHUB_MAX_UPLOAD_BYTES", 20 * 1024**3, minimum=1)
CSVHUB_MAX_REJECT_RATIO = env_float("CSVHUB_MAX_REJECT_RATIO", 0.1, minimum=0.0, maximum=1.0)
CSVHUB_MAX_STORED_REJECTS = env_int("CSVHUB_MAX_STORED_REJECTS", 10_000, minimum=0)
# JSON appends (POST /api/v1/datasets/<slug>/rows/): one request's body and rows at most (413
# past either), and how long an Idempotency-Key is remembered (a retry later appends again).
CSVHUB_APPEND_MAX_BYTES = env_int("CSVHUB_APPEND_MAX_BYTES", 64 * 1024**2, minimum=1)
CSVHUB_APPEND_MAX_ROWS = env_int("CSVHUB_APPEND_MAX_ROWS", 100_000, minimum=1)
CSVHUB_APPEND_KEY_TTL_SECONDS = env_int("CSVHUB_APPEND_KEY_TTL_SECONDS", 86_400, minimum=60)
# Reading bounds (csvread.ReadLimits), in characters of the text as written: one record's size
# and lines (a record still open in a quote past them is a quote never closed), one batch's size.
CSVHUB_MAX_RECORD_SIZE = env_int("CSVHUB_MAX_RECORD_SIZE", 16 * 1024**2, minimum=1)
CSVHUB_MAX_RECORD_LINES = env_int("CSVHUB_MAX_RECORD_LINES", 10_000, minimum=1)
CSVHUB_MAX_BATCH_SIZE = env_int("CSVHUB_MAX_BATCH_SIZE", 8 * 1024**2, minimum=1)
# A compressed upload may hold no more text than an uncompressed one may be.
CSVHUB_MAX_DECOMPRESSED_BYTES = env_int(
    "CSVHUB_MAX_DECOMPRESSED_BYTES", CSVHUB_MAX_UPLOAD_BYTES, minimum=1
)
# CSV compresses 5-20 times, very repetitive CSV 30 or so; zip bombs thousands of times.
CSVHUB_MAX_DECOMPRESSION_RATIO = env_int("CSVHUB_MAX_DECOMPRESSION_RATIO", 50, minimum=0)
CSVHUB_MAX_ROWS_PER_UPLOAD = env_int("CSVHUB_MAX_ROWS_PER_UPLOAD", 0, minimum=0)  # 0: no limit
# The mail outbox (csvhub.outbox): a send is tried CSVHUB_MAIL_ATTEMPTS times, the n-th retry
# after CSVHUB_MAIL_RETRY_SECONDS * 2^(n-1) (at most an hour); a sender holds a mail for
# CSVHUB_MAIL_CLAIM_SECONDS, after which a sender that died gives it up to the next one.
CSVHUB_MAIL_ATTEMPTS = env_int("CSVHUB_MAIL_ATTEMPTS", 8, minimum=1)
CSVHUB_MAIL_RETRY_SECONDS = env_int("CSVHUB_MAIL_RETRY_SECONDS", 30, minimum=1)
CSVHUB_MAIL_CLAIM_SECONDS = env_int("CSVHUB_MAIL_CLAIM_SECONDS", 120, minimum=5)
# Alarms (csvhub.alarms): the address mails link to (the UI as people reach it), how many
# groups firing in one evaluation make one digest mail instead of one mail each, and the most
# stored rows a dry run reads.
CSVHUB_BASE_URL = env_str("CSVHUB_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
CSVHUB_ALARM_DIGEST_GROUPS = env_int("CSVHUB_ALARM_DIGEST_GROUPS", 5, minimum=2)
CSVHUB_ALARM_PREVIEW_ROWS = env_int("CSVHUB_ALARM_PREVIEW_ROWS", 200_000, minimum=1)
# How long a dataset's commits must pause before its evaluation is sent, and the longest an
# evaluation waits after the commit that queued it (a steady stream never pauses), so that the
# commits of a burst are evaluated together, after it (csvhub.alarms.queue). Both stay under
# csvhub.alarms.waiting.STALE_SECONDS.
CSVHUB_ALARM_EVALUATION_DELAY_SECONDS = env_float(
    "CSVHUB_ALARM_EVALUATION_DELAY_SECONDS", 0.2, minimum=0.0, maximum=60.0
)
CSVHUB_ALARM_EVALUATION_MAX_DELAY_SECONDS = env_float(
    "CSVHUB_ALARM_EVALUATION_MAX_DELAY_SECONDS", 2.0, minimum=0.0, maximum=60.0
)

# Scheduled imports (csvhub.sources). Sources reach only public addresses; hosts listed here
# (names or addresses, comma-separated) may be private, e.g. an internal file server.
CSVHUB_SOURCE_ALLOWED_HOSTS = [
    h.strip() for h in env_str("CSVHUB_SOURCE_ALLOWED_HOSTS", "").split(",") if h.strip()
]
CSVHUB_SOURCE_MAX_BYTES = env_int("CSVHUB_SOURCE_MAX_BYTES", CSVHUB_MAX_UPLOAD_BYTES, minimum=1)
CSVHUB_SOURCE_DOWNLOAD_SECONDS = env_int("CSVHUB_SOURCE_DOWNLOAD_SECONDS", 3600, minimum=1)
# Clustering suggestions (csvhub.cleaning) read at most this many distinct values of a column,
# the most frequent first (GROUP BY in the warehouse); beyond, the answer says it is partial.
CSVHUB_CLUSTER_MAX_VALUES = env_int("CSVHUB_CLUSTER_MAX_VALUES", 100_000, minimum=100)
CSVHUB_SOURCE_MIN_INTERVAL_SECONDS = env_int("CSVHUB_SOURCE_MIN_INTERVAL_SECONDS", 60, minimum=1)
# A failed fetch is tried again after 1, 2, 4... times this, this many times, then waits for the
# next scheduled run.
CSVHUB_SOURCE_RETRIES = env_int("CSVHUB_SOURCE_RETRIES", 3, minimum=0)
CSVHUB_SOURCE_RETRY_SECONDS = env_int("CSVHUB_SOURCE_RETRY_SECONDS", 60, minimum=1)
# A running fetch renews its hold on the source; a dead process's hold ends after this long.
CSVHUB_SOURCE_LEASE_SECONDS = env_int("CSVHUB_SOURCE_LEASE_SECONDS", 120, minimum=10)
# Encrypts source credentials at rest; empty: derived from the SECRET_KEY.
CSVHUB_SOURCE_SECRET_KEY = env_str("CSVHUB_SOURCE_SECRET_KEY", "")
# Uploads are parsed in a child process, beside inference and loading, with its address space
# capped so that a file needing too much memory fails its upload, never the web server or
# worker (0: no cap). Uploads smaller than CSVHUB_CHILD_READER_MIN_BYTES are read in the worker
# itself, without the cap: 0 (the default) sends every upload to the child. 2 GiB: a
# 20,000-row batch of 1,600 columns (PostgreSQL's most) peaked at 1.2 GiB; batches now end at
# CSVHUB_MAX_BATCH_SIZE characters too, which leaves room to raise that setting.
CSVHUB_READER_MEMORY_LIMIT_BYTES = env_int(
    "CSVHUB_READER_MEMORY_LIMIT_BYTES", 2 * 1024**3, minimum=0
)
CSVHUB_CHILD_READER_MIN_BYTES = env_int("CSVHUB_CHILD_READER_MIN_BYTES", 0, minimum=0)
# With the thread runner, an API upload of one file into a new dataset starts loading while its
# body still arrives (csvhub.datasets.arrivals); off: every load starts once the file is stored.
# Off by default until a quiet machine shows the gain (docs/decisions.md).
CSVHUB_LOAD_WHILE_ARRIVING = env_bool("CSVHUB_LOAD_WHILE_ARRIVING", False)

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
# Facets (csvhub.facets) count within this short limit (all columns together), then answer
# from the top values kept at ingestion; without filters, tables past CSVHUB_FACET_SCAN_MAX_ROWS
# answer from those at once.
CSVHUB_FACET_TIMEOUT_SECONDS = env_float(
    "CSVHUB_FACET_TIMEOUT_SECONDS", 1.0, minimum=0.01, maximum=3600.0
)
CSVHUB_FACET_SCAN_MAX_ROWS = env_int("CSVHUB_FACET_SCAN_MAX_ROWS", 250_000, minimum=0)

# Uploads stream through temporary files, never through memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024**2
FILE_UPLOAD_HANDLERS = ["csvhub.datasets.upload_handler.SpoolingUploadHandler"]
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024**2
FILE_UPLOAD_TEMP_DIR = env_str("CSVHUB_UPLOAD_TEMP_DIR", "") or None
# Stored originals (local storage) are private to csvhub's user, whatever the umask.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Brute-force limits: failures per username+address (logins) and per address (bad tokens)
# inside a fixed window. Every web process shares the counts: in the metadata database, or in
# Redis when CSVHUB_CACHE_URL is set (CSVHUB_RATELIMIT_CACHE below).
CSVHUB_LOGIN_FAILURE_LIMIT = env_int("CSVHUB_LOGIN_FAILURE_LIMIT", 10, minimum=1)
CSVHUB_TOKEN_FAILURE_LIMIT = env_int("CSVHUB_TOKEN_FAILURE_LIMIT", 20, minimum=1)
CSVHUB_FAILURE_WINDOW_SECONDS = env_int("CSVHUB_FAILURE_WINDOW_SECONDS", 300, minimum=1)
# Password reset requests (each may send a mail), per client address and per email address.
CSVHUB_PASSWORD_RESET_LIMIT = env_int("CSVHUB_PASSWORD_RESET_LIMIT", 5, minimum=1)
CSVHUB_PASSWORD_RESET_WINDOW_SECONDS = env_int(
    "CSVHUB_PASSWORD_RESET_WINDOW_SECONDS", 3600, minimum=1
)
# Days an invitation to an organization waits for the invited user's answer.
CSVHUB_INVITATION_DAYS = env_int("CSVHUB_INVITATION_DAYS", 14, minimum=1)
# Invitation mails per recipient address and per organization, in this window; past either the
# invitation is made but no mail is sent (the user finds it on /invitations/).
CSVHUB_INVITATION_MAIL_LIMIT = env_int("CSVHUB_INVITATION_MAIL_LIMIT", 3, minimum=1)
CSVHUB_INVITATION_MAIL_ORGANIZATION_LIMIT = env_int(
    "CSVHUB_INVITATION_MAIL_ORGANIZATION_LIMIT", 50, minimum=1
)
CSVHUB_INVITATION_MAIL_WINDOW_SECONDS = env_int(
    "CSVHUB_INVITATION_MAIL_WINDOW_SECONDS", 3600, minimum=1
)
CSVHUB_TRUSTED_PROXY_COUNT = env_int("CSVHUB_TRUSTED_PROXY_COUNT", 0, minimum=0)
CSVHUB_CACHE_URL = env_str("CSVHUB_CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CSVHUB_CACHE_URL}
        if CSVHUB_CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# The cache that keeps the rate-limit counts (csvhub.accounts.ratelimit); empty: the metadata
# database, since a LocMemCache is each process's own and `csvhub serve` runs several.
CSVHUB_RATELIMIT_CACHE = "default" if CSVHUB_CACHE_URL else ""

# Metrics (docs/deployment.md, "Metrics"): /metrics answers only a Bearer token equal to this
# (404 while unset); `csvhub worker` serves its own /metrics and /healthz on this address.
CSVHUB_METRICS_TOKEN = env_str("CSVHUB_METRICS_TOKEN", "")
CSVHUB_WORKER_METRICS_BIND = env_str("CSVHUB_WORKER_METRICS_BIND", "")

# Behind a TLS-terminating proxy (deploy/nginx): trust its X-Forwarded-Proto, and say so in
# cookies, HSTS and redirects. Off by default: the embedded default serves plain HTTP.
if env_bool("CSVHUB_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("CSVHUB_SECURE_COOKIES", False)
SECURE_SSL_REDIRECT = env_bool("CSVHUB_SSL_REDIRECT", False)
# Health checks and scrapes come over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("CSVHUB_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("CSVHUB_HSTS_INCLUDE_SUBDOMAINS", False)
# On SIGTERM a web server answers /readyz with 503 this long before it stops taking requests,
# so that a load balancer sends new ones elsewhere first (docs/deployment.md).
CSVHUB_DRAIN_SECONDS = env_int("CSVHUB_DRAIN_SECONDS", 5, minimum=0)

# Single sign-on through an OpenID provider (csvhub.sso; docs/configuration.md, "Single
# sign-on"): off unless CSVHUB_OIDC_ISSUER is set. Password sign-in can be switched off then.
CSVHUB_OIDC = oidc_config_from_env()
CSVHUB_PASSWORD_LOGIN = env_bool("CSVHUB_PASSWORD_LOGIN", True)
# Sign-out posts a form whose answer redirects to the provider's end_session_endpoint.
SECURE_CSP["form-action"] = [CSP.SELF, *CSVHUB_OIDC.form_action_origins]

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"

# One mailer for password resets, invitations and alarms: SMTP when CSVHUB_EMAIL_HOST is set
# (CSVHUB_EMAIL_PORT, _USER, _PASSWORD, _TLS, _SSL), else CSVHUB_EMAIL_BACKEND (the console).
MAILERS = mailers_from_env()
DEFAULT_FROM_EMAIL = env_str("CSVHUB_EMAIL_FROM", "") or env_str(
    "CSVHUB_FROM_EMAIL", "csvhub@localhost"
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # The identity provider's JWTs first: it takes only JWT-shaped bearer values.
        "csvhub.sso.authentication.ProviderTokenAuthentication",
        "csvhub.accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "csvhub.api.ApiSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Request bodies are JSON (uploads alone take multipart): the schema documents one form.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "csvhub.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "csvhub API",
    "DESCRIPTION": "Upload CSV files, query their rows, analyse them. See docs/api.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Operation ids are made from paths after this prefix (`v1_uploads_create`); fixed rather
    # than guessed from the paths, which /etl/ (compat) would shorten to "/" and rename them all.
    "SCHEMA_PATH_PREFIX": r"/api/",
    # PATCH bodies are validated whole (members' role is required), so document them whole.
    "COMPONENT_SPLIT_PATCH": False,
    # One name for the alarm states every alarm serializer shares (csvhub.alarms.apis).
    "ENUM_NAME_OVERRIDES": {"AlarmStateEnum": "csvhub.alarms.machine.State"},
    # Swagger UI and Redoc from drf-spectacular-sidecar's static files: nothing from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No "valid" badge: Swagger UI would fetch it from validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("CSVHUB_LOG_LEVEL", "INFO")},
}
