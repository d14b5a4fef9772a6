"""Background index builds: tasks take ids and call one service (csvhub.datasets.rows)."""

from csvhub.jobs.registry import task


@task
def build_index(dataset_id: str, columns: list[str]) -> None:
    from csvhub.datasets.rows import index_build

    index_build(dataset_id=dataset_id, columns=columns)
