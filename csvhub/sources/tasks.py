"""Background tasks of scheduled imports: they take ids and call one service each."""

from csvhub.jobs.registry import task


@task
def source_run(run_id: str) -> None:
    from csvhub.sources.runs import run_execute

    run_execute(run_id=run_id)
