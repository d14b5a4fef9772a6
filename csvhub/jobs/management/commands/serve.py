"""`csvhub serve`: prepare the embedded default and serve the UI and API.

Creates the data directory, applies migrations, creates a first admin when there is no user,
and runs gunicorn with one process and several threads, so that the in-process job runner has
one home and jobs left behind by the previous run are picked up again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from gunicorn.app.base import BaseApplication


class Command(BaseCommand):
    help = "Set up csvhub if needed and serve the web UI and API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8, help="request threads")

    def handle(self, *args: Any, host: str, port: int, threads: int, **options: Any) -> None:
        from csvhub.accounts.services import ensure_first_admin

        settings.DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        # A data dir made by an older csvhub may be open to others: closing the folder closes
        # everything in it (the files keep their modes, but no one else can reach them).
        settings.DATA_DIR.chmod(0o700)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        ensure_first_admin(stdout=self.stdout)
        self._warn_about_accounts()
        self.stdout.write(f"csvhub is serving on http://{host}:{port}/ (API docs at /api/docs/)")
        _gunicorn_app(
            {
                "bind": f"{host}:{port}",
                "workers": 1,
                "threads": threads,
                "worker_class": "gthread",
                "timeout": 300,
                "accesslog": "-",
                "umask": 0o077,  # gunicorn's own files too (a unix socket, worker heartbeats)
                "post_worker_init": _resume_jobs,
            }
        ).run()

    def _warn_about_accounts(self) -> None:
        """The accounts checks need the database, so `migrate` above (called from code) skipped
        them; show their warnings (e.g. operators left behind by an upgrade) once at start."""
        from django.core import checks

        for issue in checks.run_checks(tags=["csvhub"], databases=["default"]):
            if not issue.is_silenced():
                self.stderr.write(str(issue))  # with its hint


def _resume_jobs(_worker: object) -> None:
    from csvhub.datasets.services import uploads_resume

    # One process runs every in-process job, so whatever is marked running died with the
    # previous process; with Celery, workers resume their own.
    uploads_resume(all_running_are_dead=settings.CSVHUB_TASK_RUNNER == "thread")
    if settings.CSVHUB_TASK_RUNNER == "thread":
        # The embedded default's scheduler; with Celery, the workers tick (csvhub.celery).
        from csvhub.scheduling.ticks import scheduler_start

        scheduler_start()


def _gunicorn_app(options: dict[str, object]) -> BaseApplication:
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        # Django's stubs type the environ as a dict, gunicorn's as a MutableMapping (it is
        # a dict): the arguments are left to the two libraries.
        def load(self) -> Callable[..., Iterable[bytes]]:
            from csvhub.wsgi import application

            return application

    return Application()
