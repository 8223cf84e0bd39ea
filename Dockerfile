# One image for every gotk service; the Deployment picks the module to run.
FROM golang:1.26 AS tools
COPY tools/controlplane /src/tools/controlplane
RUN GOTK_CACHE=/cache /src/tools/controlplane/build.sh tools

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends git openssh-client gnupg \
    && rm -rf /var/lib/apt/lists/*
COPY --from=tools /cache/tools/bin/kustomize /cache/tools/bin/helm /cache/tools/bin/sops /usr/local/bin/
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY . /app
RUN uv sync --frozen --no-dev && chown -R 65534:65534 /app
ENV PATH=/app/.venv/bin:$PATH GOTK_TOOLS_BIN=/usr/local/bin
USER 65534
