"""/metrics of a real gunicorn server with three workers, in multiprocess mode: counters move by
exactly what the test did, whichever worker answered."""

from __future__ import annotations

import json
import os
import signal

import pytest

from tests.serving import METRICS_TOKEN, Server, live_server


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Server:
    yield from live_server(tmp_path_factory.mktemp("metrics"), workers=3)


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _finished(server: Server, upload: dict) -> dict:
    def done() -> bool:
        status, body = server.request(f"/api/v1/uploads/{upload['id']}/")
        return status == 200 and json.loads(body)["state"] in ("succeeded", "failed")

    server.wait_until(done)
    return json.loads(server.request(f"/api/v1/uploads/{upload['id']}/")[1])


def test_requests_are_counted_by_route_name_method_and_status(server):
    before = server.scrape()
    for _ in range(12):
        assert server.request("/api/v1/datasets/")[0] == 200
    for _ in range(3):
        assert server.request("/api/v1/datasets/no-such-dataset/")[0] == 404
    assert server.request("/no/such/page/at/all")[0] == 404
    after = server.scrape()

    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    total = "csvhub_http_requests_total"
    assert moved(total, route="dataset-list", method="GET", status="200") == 12
    assert moved(total, route="dataset-detail", method="GET", status="404") == 3
    assert moved(total, route="unmatched", method="GET", status="404") == 1
    latency = "csvhub_http_request_duration_seconds_count"
    assert moved(latency, route="dataset-list", method="GET") == 12
    # Paths never become labels: only route names do.
    assert not any("no-such" in value for _, labels in after for _, value in labels)


def test_an_upload_moves_ingestion_and_job_counters_by_its_rows_bytes_and_rejects(server):
    good = "".join(f"{i},name {i}\n" for i in range(60))
    content = ("n,name\n" + good + "61,too,many\n62,x,y\n").encode()
    before = server.scrape()
    upload = _finished(server, server.upload("counted.csv", content))
    after = server.scrape()

    assert upload["state"] == "succeeded", upload["error"]
    assert (upload["rows_loaded"], upload["rows_rejected"]) == (60, 2)

    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert moved("csvhub_ingest_rows_total") == 60
    assert moved("csvhub_ingest_rejected_rows_total") == 2
    assert moved("csvhub_ingest_bytes_total") == len(content)
    assert moved("csvhub_jobs_finished_total", kind="ingest", state="succeeded") == 1
    assert moved("csvhub_jobs_finished_total", kind="ingest", state="failed") == 0
    assert moved("csvhub_job_duration_seconds_count", kind="ingest", state="succeeded") == 1
    assert _value(after, "csvhub_uploads_unfinished", state="queued") == 0
    assert _value(after, "csvhub_uploads_unfinished", state="running") == 0
    assert ("csvhub_job_queue_depth", frozenset()) in after


def test_a_failed_upload_counts_as_failed(server):
    content = b"a,b\n" + b"1,2,3\n" * 5 + b"4,5\n"  # five of six rows rejected: too many
    before = server.scrape()
    upload = _finished(server, server.upload("bad.csv", content))
    after = server.scrape()
    assert upload["state"] == "failed"
    failed = ("csvhub_jobs_finished_total", frozenset({("kind", "ingest"), ("state", "failed")}))
    assert after.get(failed, 0) - before.get(failed, 0) == 1
    assert (
        _value(after, "csvhub_ingest_rejected_rows_total")
        - _value(before, "csvhub_ingest_rejected_rows_total")
        == 5
    )


def test_warehouse_reads_are_timed_by_kind(server):
    content = ("n\n" + "".join(f"{i}\n" for i in range(30))).encode()
    slug = _finished(server, server.upload("reads.csv", content))["dataset"]
    before = server.scrape()
    rows = f"/api/v1/datasets/{slug}/rows/"
    assert server.request(rows)[0] == 200
    assert server.request(rows + "?n=gt:3&limit=2&count=exact")[0] == 200  # page and count
    status, body = server.request(rows + "?format=csv")
    assert status == 200 and body.count(b"\n") == 31
    assert server.request(f"/api/v1/datasets/{slug}/analysis/?type=row_count")[0] == 200
    after = server.scrape()
    name = "csvhub_warehouse_query_duration_seconds_count"
    moved = {
        kind: _value(after, name, kind=kind) - _value(before, name, kind=kind)
        for kind in ("page", "count", "export", "analysis")
    }
    assert moved == {"page": 2, "count": 1, "export": 1, "analysis": 1}


def _process_pids(server: Server) -> set[str]:
    from prometheus_client.parser import text_string_to_metric_families

    body = server.request("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})[1]
    return {
        sample.labels["pid"]
        for family in text_string_to_metric_families(body.decode())
        if family.name == "csvhub_process_resident_memory_bytes"
        for sample in family.samples
        if sample.labels.get("role") == "web" and sample.value > 0
    }


def test_every_worker_reports_its_resources_and_a_dead_worker_stops_reporting(server):
    workers = {str(pid) for pid in server.worker_pids()}
    assert _process_pids(server) == workers
    for name in ("csvhub_process_cpu_seconds", "csvhub_process_open_fds"):
        assert _value(server.scrape(), name, role="web") > 0

    before = server.scrape()
    gone = server.worker_pids()[0]
    os.kill(gone, signal.SIGTERM)  # gunicorn starts another in its place
    server.wait_until(lambda: gone not in server.worker_pids() and len(server.worker_pids()) == 3)
    replaced = {str(pid) for pid in server.worker_pids()}
    server.wait_until(lambda: _process_pids(server) == replaced)
    after = server.scrape()
    # The dead worker's counts stay in the totals: counters never go backwards.
    key = (
        "csvhub_http_requests_total",
        frozenset({("route", "dataset-list"), ("method", "GET"), ("status", "200")}),
    )
    assert after[key] == before[key]


# Ids name the cases, not the random token: every process of a parallel run must collect
# the same test names.
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", f"Basic {METRICS_TOKEN}", f"Bearer {METRICS_TOKEN}x"],
    ids=["none", "wrong-token", "token-as-basic", "token-plus-a-character"],
)
def test_metrics_need_the_token(server, authorization):
    headers = {"Authorization": authorization} if authorization else {"Authorization": ""}
    status, body = server.request("/metrics", headers=headers)
    assert status == 401
    assert b"csvhub_" not in body
