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
RUN useradd --system --home /var/lib/csvhub csvhub && mkdir -p /var/lib/csvhub \
    && chown csvhub /var/lib/csvhub
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels
USER csvhub
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# Web by default; the worker service runs `csvhub worker`.
CMD ["sh", "-c", "csvhub migrate --noinput && csvhub collectstatic --noinput && exec gunicorn csvhub.wsgi -w ${WEB_CONCURRENCY:-2} --threads 4 -k gthread -b 0.0.0.0:8000 --timeout 300"]
