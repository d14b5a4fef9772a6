"""gunicorn's configuration for the image: `gunicorn -c python:csvhub.gunicorn_config csvhub.wsgi`.

Environment: CSVHUB_BIND (default 0.0.0.0:8000), WEB_CONCURRENCY (worker processes, default
2), CSVHUB_WEB_THREADS (threads each, default 4), CSVHUB_GRACEFUL_TIMEOUT (seconds a stopping
worker has to finish its requests, default 60). `kill -HUP` reloads gracefully; `kill -TERM`
drains (docs/deployment.md, "Zero-downtime rollout").
"""

import os

from django.conf import settings

from csvhub.gunicorn_hooks import server_hooks
from csvhub.warehouse.dialects import check_processes

bind = os.environ.get("CSVHUB_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("CSVHUB_WEB_THREADS", "4"))
# A DuckDB warehouse is opened by one process: several workers are refused before any starts.
check_processes(settings.CSVHUB_WAREHOUSE_URL, task_runner="thread", web_workers=workers)
worker_class = "gthread"
# A request may run this long (a big upload to storage); a proxy in front bounds slow clients.
timeout = 300
graceful_timeout = int(os.environ.get("CSVHUB_GRACEFUL_TIMEOUT", "60"))
umask = 0o077  # what gunicorn creates (a unix socket, worker heartbeats) is csvhub's alone
accesslog = "-"
# gunicorn's control socket (`gunicornc`) in the data directory, csvhub's alone, not in a home
# directory that several servers of one user would share.
control_socket = str(settings.DATA_DIR / "gunicorn.ctl")

_hooks = server_hooks()
on_starting = _hooks["on_starting"]
when_ready = _hooks["when_ready"]
post_worker_init = _hooks["post_worker_init"]
child_exit = _hooks["child_exit"]
on_exit = _hooks["on_exit"]
