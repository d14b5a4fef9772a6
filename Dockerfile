# csvhub: one image for the web process and the Celery workers.
# The wheel is built where a C compiler is, so the image gets csvhub's C extensions (the CSV
# splitter and the binary COPY encoder) without carrying the compiler.
FROM python:3.12-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY csvhub ./csvhub
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.12-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    CSVHUB_DATA_DIR=/var/lib/csvhub
# The data dir is csvhub's alone (0700): it may hold the secret key, databases and files.
RUN useradd --system --home /var/lib/csvhub csvhub \
    && install -d -m 0700 -o csvhub /var/lib/csvhub
WORKDIR /app
COPY requirements.lock ./
COPY --from=build /wheels /wheels
# Dependencies at the locked versions, each checked against the lock's hashes; then csvhub.
RUN pip install --require-hashes -r requirements.lock \
    && pip install --no-deps /wheels/*.whl && pip check && rm -rf /wheels requirements.lock
USER csvhub
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# Web by default; the worker service runs `csvhub worker`.
CMD ["sh", "-c", "csvhub migrate --noinput && csvhub collectstatic --noinput && exec gunicorn csvhub.wsgi --umask 0077 -w ${WEB_CONCURRENCY:-2} --threads 4 -k gthread -b 0.0.0.0:8000 --timeout 300"]
