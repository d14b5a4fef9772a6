"""Background tasks: they take ids and call one service each."""

from csvhub.jobs.registry import task


@task
def ingest_upload(upload_id: str) -> None:
    from csvhub.datasets.ingest import upload_ingest

    upload_ingest(upload_id=upload_id)
