# syntax=docker/dockerfile:1
# Build stage: compile wheels (asyncpg, numpy...) with build tools that never reach the image.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY bot ./bot
COPY strategies ./strategies
COPY migrations ./migrations
RUN python -m venv /opt/hedgebot && /opt/hedgebot/bin/pip install --no-cache-dir .

# Runtime stage: the virtualenv, the migrations and nothing else. Config and secrets are
# mounted at run time (/config, /run/secrets), never baked in.
FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin hedgebot
COPY --from=build /opt/hedgebot /opt/hedgebot
COPY --chown=hedgebot:hedgebot migrations /app/migrations
COPY --chown=hedgebot:hedgebot alembic.ini /app/alembic.ini
ENV PATH=/opt/hedgebot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HEDGEBOT_MIGRATIONS=/app/migrations
WORKDIR /app
USER hedgebot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["hedgebot"]
CMD ["run", "--config", "/config/hedgebot.yaml"]
