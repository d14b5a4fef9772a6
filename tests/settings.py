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

# tests/conftest.py collects the static files once per process, in its own folder (the
# processes of a parallel run share the data directory). Made here: Whitenoise warns otherwise.
STATIC_ROOT = DATA_DIR / f"static-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
(DATA_DIR / "static").mkdir(exist_ok=True)  # a server a test starts on csvhub.settings

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
