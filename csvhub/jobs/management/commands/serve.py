"""`csvhub serve`: prepare the embedded default and serve the UI and API.

Creates the data directory, applies migrations, creates a first admin when there is no user,
and runs gunicorn with one process and several threads, so that the in-process job runner has
one home and jobs left behind by the previous run are picked up again.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

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
            default=1,
            help="worker processes (default 1; not with a DuckDB warehouse): each serves "
            "requests on its own CPU, as the image's WEB_CONCURRENCY does",
        )

    def handle(
        self, *args: Any, host: str, port: int, threads: int, workers: int, **options: Any
    ) -> None:
        from csvhub.accounts.services import ensure_first_admin

        workers_check(workers)
        port_check(host, port)
        settings.DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        # A data dir made by an older csvhub may be open to others: closing the folder closes
        # everything in it (the files keep their modes, but no one else can reach them).
        settings.DATA_DIR.chmod(0o700)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        ensure_first_admin(stdout=self.stdout, sign_in_url=f"http://{host}:{port}/login/")
        self._warn_about_accounts()
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
                # One process runs every in-process job, so at start whatever is marked
                # running died with the previous process; with Celery, or several workers
                # (as in the image), the job sweeper finds the dead ones by their lease.
                **server_hooks(
                    first_workers_own_every_job=settings.CSVHUB_TASK_RUNNER == "thread"
                    and workers == 1
                ),
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


def workers_check(workers: int) -> None:
    """Refuse a worker count the warehouse cannot take (DuckDB: one process), before anything
    is prepared."""
    from csvhub.warehouse.dialects import check_processes

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
