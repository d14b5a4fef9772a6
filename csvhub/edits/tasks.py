"""Background tasks of bulk edits: they take ids and call one service each."""

from csvhub.jobs.registry import task


@task
def run_edit(edit_id: int) -> None:
    from csvhub.edits.runs import edit_run

    edit_run(edit_id=edit_id)
