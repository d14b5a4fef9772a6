"""Settings for the test suite: the real settings module over a throw-away data directory."""

import os
import tempfile

os.environ.setdefault("CSVHUB_DATA_DIR", tempfile.mkdtemp(prefix="csvhub-test-"))
os.environ.setdefault("CSVHUB_TASK_RUNNER", "immediate")

from csvhub.settings import *  # noqa: F403
from csvhub.settings import DATA_DIR, DATABASES

# A file, not memory, so that worker processes started by tests see the same test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test_csvhub.sqlite3")}

# Whitenoise warns about a missing static root; the tests don't collect static files.
(DATA_DIR / "static").mkdir(parents=True, exist_ok=True)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
