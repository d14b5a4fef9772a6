"""What every csvhub web server does around gunicorn (the image's `gunicorn -c
python:csvhub.gunicorn_config` and `csvhub serve`): metrics in multiprocess mode, draining on
SIGTERM, and the in-process job runner's resume and sweep.

Hooks run in the master (on_starting, when_ready, on_reload, child_exit, on_exit) or in each
worker after it loaded csvhub (post_worker_init). The master loads Django's settings only,
never the apps: workers are forked from it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csvhub.settings")

# Set in the master by on_reload, read by the workers it forks after a HUP.
_reloaded = False


def server_hooks(*, first_workers_own_every_job: bool) -> dict[str, Callable[..., Any]]:
    """gunicorn settings for the hooks; with `first_workers_own_every_job` (one worker, thread
    runner: `csvhub serve`) the first worker takes every job marked running as dead, since no
    other process can be running it; after a HUP the old worker may still be."""

    def post_worker_init(worker: Any) -> None:
        _worker_started(resume_all=first_workers_own_every_job and not _reloaded)

    return {
        "on_starting": _on_starting,
        "when_ready": _when_ready,
        "on_reload": _on_reload,
        "post_worker_init": post_worker_init,
        "child_exit": _child_exit,
        "on_exit": _on_exit,
    }


def _on_starting(arbiter: Any) -> None:
    from csvhub.health.drain import drain_end
    from csvhub.metrics import multiprocess

    # Figures of an earlier run would count again: the server starts from an empty directory.
    multiprocess.enable(multiprocess.directory_for("web"), wipe=True)
    drain_end(arbiter.pid)


def _when_ready(arbiter: Any) -> None:
    handle_term = arbiter.handle_term

    def drain_then_stop() -> None:
        from csvhub.health.drain import drain_begin

        arbiter.log.info("Draining for CSVHUB_DRAIN_SECONDS before stopping")
        drain_begin(arbiter.pid)
        handle_term()  # gunicorn's own: workers finish their requests, then exit

    # gunicorn looks its signal handlers up on the arbiter (`handle_term`) each time.
    setattr(arbiter, "handle_term", drain_then_stop)  # noqa: B010


def _on_reload(arbiter: Any) -> None:
    global _reloaded
    _reloaded = True


def _child_exit(arbiter: Any, worker: Any) -> None:
    from csvhub.metrics.multiprocess import mark_dead

    mark_dead(worker.pid)


def _on_exit(arbiter: Any) -> None:
    from csvhub.health.drain import drain_end

    drain_end(arbiter.pid)


def _worker_started(*, resume_all: bool) -> None:
    from django.conf import settings

    from csvhub.datasets.services import uploads_resume
    from csvhub.jobs.sweeper import start_sweeper
    from csvhub.metrics.process import start_sampler

    start_sampler("web")
    uploads_resume(all_running_are_dead=resume_all)
    if settings.CSVHUB_TASK_RUNNER == "thread":
        # Jobs run in the web workers: one of them must notice a job whose worker died.
        start_sweeper()
        # The embedded default's scheduler ticks in every web worker (a claim in the database
        # lets one of them fire each run); with Celery, the workers tick (csvhub.celery).
        from csvhub.scheduling.ticks import scheduler_start

        scheduler_start()
