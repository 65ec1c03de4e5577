# syntax=docker/dockerfile:1
# Build stage: a virtualenv with the pinned dependencies (requirements.lock, every file's hash
# checked), then the hedgebot wheel without dependencies; `pip check` proves nothing is missing.
# Build tools (gcc) never reach the image. tests/deploy/test_image.py replays these steps
# without Docker: a step it does not know fails that test, so teach it any new one.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
RUN python -m venv /opt/hedgebot
COPY requirements.lock ./
RUN /opt/hedgebot/bin/pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY strategies ./strategies
COPY migrations ./migrations
RUN /opt/hedgebot/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /tmp/dist . \
    && /opt/hedgebot/bin/pip install --no-cache-dir --no-deps /tmp/dist/hedgebot-*.whl \
    && /opt/hedgebot/bin/pip check

# Runtime stage: the virtualenv (the migrations ship inside it, in the wheel) and nothing else.
# Config and secrets are mounted at run time (/config, /run/secrets), never baked in; /app, the
# working directory, belongs to the hedgebot user (a SQLite database with a relative path lands
# there).
FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin hedgebot \
    && install -d -o hedgebot -g hedgebot /app
COPY --from=build /opt/hedgebot /opt/hedgebot
ENV PATH=/opt/hedgebot/bin:$PATH \
    PYTHONUNBUFFERED=1
WORKDIR /app
USER hedgebot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["hedgebot"]
CMD ["run", "--config", "/config/hedgebot.yaml"]
