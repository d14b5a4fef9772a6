"""Background tasks: they take ids and call one service each."""

from csvhub.jobs.registry import task


@task
def ingest_upload(upload_id: str) -> None:
    from csvhub.datasets.ingest import upload_ingest

    upload_ingest(upload_id=upload_id)


@task
def build_index(dataset_id: str, columns: list[str]) -> None:
    from csvhub.datasets.index_builds import index_build

    index_build(dataset_id=dataset_id, columns=columns)
