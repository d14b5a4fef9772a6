"""What csvhub writes is private to its user from the moment it exists: folders 0700, files 0600.

The data dir holds session keys, password hashes, warehouse rows and uploaded originals. The
real `csvhub` command runs from an empty data dir under the usual umask 022.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages

COMMON_UMASK = 0o022


def _csvhub(data_dir: Path, *args: str) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CSVHUB_")}
    env.update(DJANGO_SETTINGS_MODULE="csvhub.settings", CSVHUB_DATA_DIR=str(data_dir))
    subprocess.run(
        [sys.executable, "-m", "csvhub", *args],
        env=env,
        umask=COMMON_UMASK,
        check=True,
        capture_output=True,
        timeout=180,
    )


def _modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_a_new_data_dir_and_everything_in_it_are_private(tmp_path):
    data_dir = tmp_path / "data"
    source = tmp_path / "people.csv"
    source.write_text("name,age\nada,36\n")

    _csvhub(data_dir, "migrate", "--noinput")
    _csvhub(
        data_dir,
        "shell",
        "-c",
        "from csvhub.accounts.models import Organization; "
        "Organization.objects.create(name='Acme', slug='acme')",
    )
    _csvhub(data_dir, "ingest", str(source), "--org", "acme")

    modes = _modes(data_dir)
    for name in ("secret_key", "csvhub.sqlite3", "warehouse.sqlite3", "files"):
        assert name in modes, sorted(modes)
    assert any(name.startswith("files/") and name.endswith(".csv") for name in modes), modes
    opened = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (data_dir / name).is_dir() else 0o600)
    }
    assert opened == {}


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_stored_files_are_private_whatever_the_umask(tmp_path, settings, umask):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        },
    }
    previous = os.umask(umask)
    try:
        name = storages["default"].save("uploads/2026/original.csv", ContentFile(b"a\n1\n"))
    finally:
        os.umask(previous)
    stored = tmp_path / "files" / name
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(stored.parent.parent.stat().st_mode) == 0o700


# Run in a fresh interpreter: the filesystem's refusal stands in for a mount without hard links.
NO_HARD_LINKS = """
import errno, os
def refuse(*args, **kwargs):
    raise OSError(errno.EPERM, "Operation not permitted")
os.link = refuse
from django.conf import settings
print(settings.SECRET_KEY)
"""


def test_secret_key_is_kept_privately_on_a_filesystem_without_hard_links(tmp_path):
    data_dir = tmp_path / "data"
    env = {key: value for key, value in os.environ.items() if not key.startswith("CSVHUB_")}
    env.update(DJANGO_SETTINGS_MODULE="csvhub.settings", CSVHUB_DATA_DIR=str(data_dir))

    def start() -> str:
        run = subprocess.run(
            [sys.executable, "-c", NO_HARD_LINKS],
            env=env,
            umask=COMMON_UMASK,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        return run.stdout.strip()

    first = start()
    assert len(first) >= 50
    assert start() == first  # kept, not made again
    assert _modes(data_dir) == {".": 0o700, "secret_key": 0o600}  # no temporary file left
    assert (data_dir / "secret_key").read_text() == first


def test_serve_closes_a_data_dir_left_open_by_an_older_version(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)  # as an older csvhub, under umask 022, left it
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if not key.startswith("CSVHUB_")}
    env.update(DJANGO_SETTINGS_MODULE="csvhub.settings", CSVHUB_DATA_DIR=str(data_dir))
    server = subprocess.Popen(
        [sys.executable, "-m", "csvhub", "serve", "--port", str(port), "--threads", "1"],
        env=env,
        umask=COMMON_UMASK,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for_health(port, server)
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _wait_for_health(port: int, server: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "csvhub serve stopped"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("csvhub serve did not answer /healthz")
