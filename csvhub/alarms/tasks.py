"""The alarms' background task: evaluate the rules of a dataset on rows that committed."""

from csvhub.jobs.registry import task


@task
def alarms_evaluate(dataset_id: str, first_row_id: int, last_row_id: int) -> None:
    from csvhub.alarms.evaluation import rules_evaluate

    rules_evaluate(dataset_id=dataset_id, first_row_id=first_row_id, last_row_id=last_row_id)
