# csvhub: one image for the web process and the Celery workers.
# The wheel is built where a C compiler is, so the image gets csvhub's C extensions (the CSV
# splitter and the binary COPY encoder) without carrying the compiler.
FROM python:3.12.8-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY csvhub ./csvhub
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.12.8-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    CSVHUB_DATA_DIR=/var/lib/csvhub CSVHUB_BIND=0.0.0.0:8000
# The data dir is csvhub's alone (0700): it may hold the secret key, databases and files.
# /var/spool/csvhub: where compose mounts the upload spool (CSVHUB_UPLOAD_TEMP_DIR); a named
# volume takes this directory's owner and mode.
RUN useradd --system --home /var/lib/csvhub csvhub \
    && install -d -m 0700 -o csvhub /var/lib/csvhub /var/spool/csvhub
WORKDIR /app
COPY requirements.lock ./
COPY --from=build /wheels /wheels
# Dependencies at the locked versions, each checked against the lock's hashes; then csvhub.
RUN pip install --require-hashes -r requirements.lock \
    && pip install --no-deps /wheels/*.whl && pip check && rm -rf /wheels requirements.lock
USER csvhub
# 8000: the web server; 9101: a worker's /healthz and /metrics (CSVHUB_WORKER_METRICS_BIND).
EXPOSE 8000 9101
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# Web by default (gunicorn with csvhub/gunicorn_config.py: WEB_CONCURRENCY workers, graceful
# reload on HUP, drain on TERM, metrics in multiprocess mode); the worker service runs
# `csvhub worker`. Migrations run here unless CSVHUB_MIGRATE_ON_START=false (compose runs them
# once, in its migrate service, before web and workers start: docs/deployment.md).
CMD ["sh", "-c", "if [ \"${CSVHUB_MIGRATE_ON_START:-true}\" = true ]; then csvhub migrate --noinput; fi && csvhub collectstatic --noinput && exec gunicorn -c python:csvhub.gunicorn_config csvhub.wsgi"]
