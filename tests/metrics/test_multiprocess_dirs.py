"""A starting server removes the figures of servers that are gone, and only those."""

from __future__ import annotations

import os
import subprocess
import sys

from csvhub.metrics.multiprocess import _remove_dead_servers


def test_directories_of_stopped_servers_are_removed_and_running_ones_kept(tmp_path):
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead, alive = tmp_path / f"web-{gone.stdout.strip()}", tmp_path / f"worker-{os.getpid()}"
    for directory in (dead, alive):
        directory.mkdir()
        (directory / "counter_1.db").write_bytes(b"")
    _remove_dead_servers(tmp_path)
    assert not dead.exists()
    assert (alive / "counter_1.db").exists()
