"""What every csvhub web server does around gunicorn (the image's `gunicorn -c
python:csvhub.gunicorn_config` and `csvhub serve`): metrics in multiprocess mode, draining on
SIGTERM, and the in-process job runner's resume and sweep.

Hooks run in the master (on_starting, when_ready, child_exit, on_exit) or in each
worker after it loaded csvhub (post_worker_init). The image's master loads Django's settings
only, never the apps; `csvhub serve`'s master is the command, which closes its database
connections before the workers are forked from it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csvhub.settings")


def server_hooks() -> dict[str, Callable[..., Any]]:
    """gunicorn settings for the hooks. Jobs a previous run left running are found by their
    stale heartbeat (the sweeper), or by `csvhub serve` before it starts gunicorn
    (datasets.services.uploads_revive): a worker cannot take them for dead, another worker
    (or, after a HUP, the old one) may be running them."""
    return {
        "on_starting": _on_starting,
        "when_ready": _when_ready,
        "post_worker_init": _post_worker_init,
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


def _child_exit(arbiter: Any, worker: Any) -> None:
    from csvhub.metrics.multiprocess import mark_dead

    mark_dead(worker.pid)


def _on_exit(arbiter: Any) -> None:
    from csvhub.health.drain import drain_end

    drain_end(arbiter.pid)


def _post_worker_init(worker: Any) -> None:
    from django.conf import settings

    from csvhub.datasets.services import uploads_resume
    from csvhub.jobs.sweeper import start_sweeper
    from csvhub.metrics.process import start_sampler

    start_sampler("web")
    uploads_resume()
    if settings.CSVHUB_TASK_RUNNER == "thread":
        # Jobs run in the web workers: one of them must notice a job whose worker died.
        start_sweeper()
        # The embedded default's scheduler ticks in every web worker (a claim in the database
        # lets one of them fire each run); with Celery, the workers tick (csvhub.celery).
        from csvhub.scheduling.ticks import scheduler_start

        scheduler_start()
