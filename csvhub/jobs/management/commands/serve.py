"""`csvhub serve`: prepare the embedded default and serve the UI and API.

Creates the data directory, applies migrations, creates a first admin when there is no user,
queues again the jobs the previous run left running, and runs gunicorn with several worker
processes (one on a DuckDB warehouse) of several threads each.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

# Worker processes unless --workers says otherwise: as many as the image runs (WEB_CONCURRENCY),
# see docs/decisions.md. A DuckDB warehouse is opened by one process: one there.
DEFAULT_WORKERS = 2

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from gunicorn.app.base import BaseApplication


class Command(BaseCommand):
    help = "Set up csvhub if needed and serve the web UI and API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8, help="request threads")
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="worker processes, each serving requests on its own CPU as the image's "
            f"WEB_CONCURRENCY does (default {DEFAULT_WORKERS}; 1 with a DuckDB warehouse, "
            "which takes no more)",
        )

    def handle(
        self, *args: Any, host: str, port: int, threads: int, workers: int | None, **options: Any
    ) -> None:
        from csvhub.accounts.services import ensure_first_admin

        workers = workers_check(workers)
        port_check(host, port)
        settings.DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        # A data dir made by an older csvhub may be open to others: closing the folder closes
        # everything in it (the files keep their modes, but no one else can reach them).
        settings.DATA_DIR.chmod(0o700)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        ensure_first_admin(stdout=self.stdout, sign_in_url=f"http://{host}:{port}/login/")
        self._warn_about_accounts()
        _jobs_of_the_last_run_revive()
        _connections_close()
        self.stdout.write(f"csvhub is serving on http://{host}:{port}/ (API docs at /api/docs/)")
        from csvhub.gunicorn_hooks import server_hooks

        _gunicorn_app(
            {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                "timeout": 300,
                "accesslog": "-",
                "umask": 0o077,  # gunicorn's own files too (a unix socket, worker heartbeats)
                **server_hooks(),
                **_control_socket(settings.DATA_DIR),
            }
        ).run()

    def _warn_about_accounts(self) -> None:
        """The accounts checks need the database, so `migrate` above (called from code) skipped
        them; show their warnings (e.g. operators left behind by an upgrade) once at start."""
        from django.core import checks

        for issue in checks.run_checks(tags=["csvhub"], databases=["default"]):
            if not issue.is_silenced():
                self.stderr.write(str(issue))  # with its hint


def workers_check(workers: int | None) -> int:
    """The worker processes to run: `workers`, or when None the default the warehouse takes
    (one on DuckDB). Refuse a count the warehouse cannot take, before anything is prepared."""
    from csvhub.warehouse.dialects import check_processes

    if workers is None:
        return workers_check(_default_workers())
    if workers < 1:
        raise CommandError("--workers must be at least 1.")
    try:
        check_processes(
            settings.CSVHUB_WAREHOUSE_URL,
            task_runner=settings.CSVHUB_TASK_RUNNER,
            web_workers=workers,
        )
    except ValueError as refused:
        raise CommandError(str(refused)) from None
    return workers


def _default_workers() -> int:
    from csvhub.warehouse.dialects import check_processes

    try:
        check_processes(
            settings.CSVHUB_WAREHOUSE_URL,
            task_runner=settings.CSVHUB_TASK_RUNNER,
            web_workers=DEFAULT_WORKERS,
        )
    except ValueError:  # a warehouse one process opens (DuckDB)
        return 1
    return DEFAULT_WORKERS


def _jobs_of_the_last_run_revive() -> None:
    """With the thread runner, this server's processes run its jobs, and none runs yet: every
    upload marked running died with the previous run. Marked waiting here, once, before gunicorn
    starts (not on a HUP: the old workers may still be loading); the workers queue every waiting
    upload when they start, and each runs once (ingest claims it)."""
    from csvhub.datasets.services import uploads_revive

    if settings.CSVHUB_TASK_RUNNER == "thread":
        uploads_revive(all_running_are_dead=True)


def _connections_close() -> None:
    """The workers are forked from this process: a database connection it leaves open would be
    shared by all of them, their statements mixed on one socket or SQLite file."""
    from csvhub.warehouse.engine import engines_dispose

    connections.close_all()
    engines_dispose()


def port_check(host: str, port: int) -> None:
    """Fail before anything is printed or prepared when `host:port` cannot be served (another
    csvhub, or another program, already listens there), saying how to choose another."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM
        )[0]
    except socket.gaierror as exc:
        raise CommandError(f"Cannot serve on {host!r}: {exc.strerror}.") from None
    with socket.socket(family, kind, proto) as probe:
        # As gunicorn binds: a port left in TIME_WAIT by a previous run is free to use.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise CommandError(_port_taken(host, port, exc)) from None


def _port_taken(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        why = f"Port {port} on {host} is already in use (another csvhub, or another program)."
    else:
        why = f"Cannot listen on {host}:{port}: {exc.strerror}."
    return (
        f"{why} Stop that program, or serve on another port: "
        f"`make run PORT=8100` or `csvhub serve --port 8100` (--host to choose the address)."
    )


def _control_socket(data_dir: Path) -> dict[str, object]:
    """gunicorn's control socket (for `gunicornc`) in the data directory, next to everything
    else csvhub writes, rather than in $HOME/.gunicorn. A unix socket path is limited to about
    100 bytes: under a data directory deeper than that there is no control socket."""
    path = data_dir / "gunicorn.ctl"
    if len(str(path).encode()) > 100:
        return {"control_socket_disable": True}
    return {"control_socket": str(path), "control_socket_mode": 0o600}


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
