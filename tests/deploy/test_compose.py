"""compose.yaml, the proxy, Prometheus and Grafana files checked as text: no Docker engine runs
here, so these are what stands between an edit and a deployment that does not come up."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]
# Services that run once and exit (migrations, bucket creation): others wait for their success.
ONE_SHOT = {name for name, service in SERVICES.items() if service.get("restart") == "no"}
LONG_RUNNING = set(SERVICES) - ONE_SHOT
CSVHUB = {"web", "worker", "migrate"}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_an_image_or_build_and_an_environment(name):
    service = SERVICES[name]
    assert "image" in service or "build" in service
    assert service.get("environment"), f"{name} has no environment"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_image_is_pinned_to_a_version(name):
    image = SERVICES[name]["image"]
    if name in CSVHUB:  # csvhub's own: built here, or pinned by digest in a rollout
        assert image == "${CSVHUB_IMAGE:-csvhub:local}"
        return
    assert re.search(r":(v?\d+\.\d+[\w.-]*|RELEASE\.[\w.-]+)$|@sha256:[0-9a-f]{64}$", image), image


@pytest.mark.parametrize("name", sorted(LONG_RUNNING))
def test_every_long_running_service_has_a_health_check_and_a_restart_policy(name):
    service = SERVICES[name]
    assert service["healthcheck"]["test"], name
    assert service["restart"] in ("unless-stopped", "always", "on-failure")


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_dependency_waits_for_health_or_success(name):
    for dependency, condition in SERVICES[name].get("depends_on", {}).items():
        expected = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
        assert condition == {"condition": expected}, (name, dependency)


def test_web_and_workers_wait_for_migrations_databases_broker_and_bucket():
    for name in ("web", "worker"):
        assert set(SERVICES[name]["depends_on"]) >= {"migrate", "postgres", "redis", "minio-setup"}
    assert SERVICES["proxy"]["depends_on"] == {"web": {"condition": "service_healthy"}}


def test_the_worker_checks_its_own_health_not_the_web_servers():
    web = " ".join(SERVICES["web"]["healthcheck"]["test"])
    worker = " ".join(SERVICES["worker"]["healthcheck"]["test"])
    port = SERVICES["worker"]["environment"]["CSVHUB_WORKER_METRICS_BIND"].rpartition(":")[2]
    assert f"127.0.0.1:{port}/healthz" in worker
    assert "/readyz" in web and ":8000" not in worker


def test_csvhub_gets_a_shared_cache_hosts_origins_and_an_upload_spool_from_the_environment():
    for name in CSVHUB:
        env = SERVICES[name]["environment"]
        assert env["CSVHUB_CACHE_URL"].startswith("redis://")
        assert env["CSVHUB_ALLOWED_HOSTS"].startswith("${CSVHUB_ALLOWED_HOSTS")
        assert env["CSVHUB_CSRF_TRUSTED_ORIGINS"].startswith("${CSVHUB_CSRF_TRUSTED_ORIGINS")
        assert env["CSVHUB_BEHIND_TLS_PROXY"] == "true"
    spool = SERVICES["web"]["environment"]["CSVHUB_UPLOAD_TEMP_DIR"]
    assert f"upload-spool:{spool}" in SERVICES["web"]["volumes"]
    assert "upload-spool" in COMPOSE["volumes"]


def test_the_proxy_limits_bodies_to_csvhubs_upload_limit():
    template = (ROOT / "deploy/nginx/csvhub.conf.template").read_text()
    assert "client_max_body_size ${CSVHUB_MAX_UPLOAD_BYTES};" in template
    limit = SERVICES["web"]["environment"]["CSVHUB_MAX_UPLOAD_BYTES"]
    assert SERVICES["proxy"]["environment"]["CSVHUB_MAX_UPLOAD_BYTES"] == limit
    for directive in ("client_header_timeout", "client_body_timeout", "proxy_buffering off"):
        assert directive in template
    assert "X-Forwarded-Proto $scheme" in template
    mounted = [v for v in SERVICES["proxy"]["volumes"] if "csvhub.conf.template" in v]
    assert mounted == [
        "./deploy/nginx/csvhub.conf.template:/etc/nginx/templates/default.conf.template:ro"
    ]


def test_every_file_compose_mounts_exists():
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./deploy/"):
                assert (ROOT / source).exists(), source


def test_prometheus_scrapes_web_and_workers_with_the_token():
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    token_file = "/etc/prometheus/metrics-token"
    assert SERVICES["prometheus"]["configs"] == [{"source": "metrics-token", "target": token_file}]
    port = SERVICES["worker"]["environment"]["CSVHUB_WORKER_METRICS_BIND"].rpartition(":")[2]
    for job in jobs.values():
        assert job["authorization"]["credentials_file"] == token_file
    assert jobs["csvhub-worker"]["dns_sd_configs"] == [
        {"names": ["worker"], "type": "A", "port": int(port)}
    ]
    # csvhub checks the Host header: Prometheus must scrape web by a name it accepts.
    (target,) = jobs["csvhub-web"]["static_configs"][0]["targets"]
    host = target.rpartition(":")[0]
    assert host in SERVICES["web"]["environment"]["CSVHUB_ALLOWED_HOSTS"].split(",")
    assert "127.0.0.1" in SERVICES["web"]["environment"]["CSVHUB_ALLOWED_HOSTS"].split(",")


def test_the_image_starts_gunicorn_with_csvhubs_configuration():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "exec gunicorn -c python:csvhub.gunicorn_config csvhub.wsgi" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "data", "**/*.so"} <= set(ignored)


def test_the_dashboard_graphs_only_metrics_csvhub_exports():
    dashboard = json.loads((ROOT / "deploy/grafana/csvhub-dashboard.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {name for expr in expressions for name in re.findall(r"\bcsvhub_\w+", expr)}
    assert used <= _exported_names(), used - _exported_names()
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for topic in ("requests", "latency", "ingestion", "backlog", "cpu", "memory"):
        assert topic in titles


def _exported_names() -> set[str]:
    """Sample names /metrics can show: the definitions with their suffixes, and the backlog."""
    from csvhub.metrics.definitions import metrics

    names = {"csvhub_uploads_unfinished", "csvhub_job_queue_depth"}
    for family in metrics().registry.collect():
        names.add(family.name)
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
        names.update(family.name + suffix for suffix in suffixes.get(family.type, []))
    return names
