"""Environment settings: good values are read, bad ones stop start-up with a clear message."""

from __future__ import annotations

import pytest

from csvhub.config import ConfigError, env_bool, env_float, env_int, parse_size, storage_backend


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("500", 500), ("64M", 64 * 1024**2), ("10G", 10 * 1024**3), ("1KiB", 1024)],
)
def test_sizes_accept_binary_suffixes(raw, expected):
    assert parse_size(raw) == expected


@pytest.mark.parametrize(
    ("reader", "raw", "message"),
    [
        (lambda: env_int("CSVHUB_X", 1), "lots", "CSVHUB_X='lots' is not a whole number"),
        (lambda: env_int("CSVHUB_X", 1, minimum=1), "0", "must be at least 1"),
        (lambda: env_bool("CSVHUB_X", False), "maybe", "is not a boolean"),
        (lambda: env_float("CSVHUB_X", 0.1, minimum=0, maximum=1), "2", "between 0 and 1"),
    ],
)
def test_bad_values_name_the_variable_and_the_fix(monkeypatch, reader, raw, message):
    monkeypatch.setenv("CSVHUB_X", raw)
    with pytest.raises(ConfigError, match=message):
        reader()


def test_storage_url_picks_local_disk_or_s3():
    assert storage_backend("", default_root="/data")["OPTIONS"] == {"location": "/data"}
    assert storage_backend("file:///srv/files", default_root="/d")["OPTIONS"] == {
        "location": "/srv/files"
    }
    s3 = storage_backend(
        "s3://bucket/pre/fix?endpoint_url=http://minio:9000&region=eu", default_root=""
    )
    assert s3["BACKEND"] == "storages.backends.s3.S3Storage"
    assert s3["OPTIONS"]["bucket_name"] == "bucket"
    assert s3["OPTIONS"]["location"] == "pre/fix"
    assert s3["OPTIONS"]["endpoint_url"] == "http://minio:9000"
    assert s3["OPTIONS"]["region_name"] == "eu"


@pytest.mark.parametrize("url", ["s3://", "ftp://host/x"])
def test_unusable_storage_url_is_refused(url):
    with pytest.raises(ConfigError, match="CSVHUB_STORAGE_URL"):
        storage_backend(url, default_root="")


def test_settings_refuse_a_bad_runner(monkeypatch):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import csvhub.settings"],
        env={"CSVHUB_TASK_RUNNER": "cron", "CSVHUB_DATA_DIR": "/tmp/csvhub-config-test"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "CSVHUB_TASK_RUNNER='cron' is not one of: thread, celery, immediate" in result.stderr
