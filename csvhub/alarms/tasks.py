"""The alarms' background task: evaluate the rules of a dataset on rows that committed."""

from csvhub.jobs.registry import task


@task
def alarms_evaluate(
    dataset_id: str, first_row_id: int | None = None, last_row_id: int | None = None
) -> None:
    """Evaluate the dataset's rules on every row committed since each rule's watermark.

    The row range is not used: messages queued by releases before the watermark carry it."""
    from csvhub.alarms.evaluation import rules_evaluate
    from csvhub.alarms.waiting import evaluation_started

    evaluation_started(dataset_id)
    rules_evaluate(dataset_id=dataset_id)
