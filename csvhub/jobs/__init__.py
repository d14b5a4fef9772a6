"""The background-work seam: Django Tasks backends that run csvhub's tasks.

Tasks are plain `@task` functions that take ids; which backend runs them is a setting
(CSVHUB_TASK_RUNNER): threads in the web process, or Celery workers behind a broker.
Durability does not rest on the backend: every job is a row in Django's database that a
restarted process picks up again (csvhub.datasets.services.uploads_resume).
"""
