# gotk's images, one per service, from one file: build with `--target source-controller`,
# `kustomize-controller`, `helm-controller` or `web-ui` (tools/images/build.sh builds all four).
#
# The Go tools (helm, kustomize, sops) are not built here: tools/images/build.sh copies the
# binaries that tools/controlplane/build.sh built (one pinned recipe) into .gotk/images/tools/
# first. Python is Debian's (bookworm: 3.11); each service gets its own virtualenv from
# uv.lock with only its own dependencies. `python3 /usr/local/lib/gotk/healthcheck.py` is the
# health check of every image. Every image runs as an unprivileged user under
# tini, which forwards SIGTERM to the service and reaps what git, gpg and helm leave behind.
#
# Behind a TLS-intercepting proxy, pass its CA bundle as the build secret `build-ca`
# (`--secret id=build-ca,src=/etc/ssl/certs/ca-certificates.crt`): it is used by pip and uv
# during the build and is never written into a layer.

ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim

# --- what every image shares: Python, tini, CA certificates and the gotk user
FROM ${BASE_IMAGE} AS python
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 tini ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 65532 gotk \
    && useradd --system --uid 65532 --gid 65532 --create-home --home-dir /home/gotk \
       --shell /usr/sbin/nologin gotk
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LANG=C.UTF-8
# Kept by `--format docker` builds (tools/images/build.sh); Kubernetes uses the chart's probes.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "/usr/local/lib/gotk/healthcheck.py"]

# --- uv, only in the build
FROM python AS uv
ARG UV_VERSION=0.13.9
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/*
RUN --mount=type=secret,id=build-ca \
    if [ -s /run/secrets/build-ca ]; then export PIP_CERT=/run/secrets/build-ca; fi \
    && python3 -m venv /opt/uv \
    && /opt/uv/bin/pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"
ENV UV_PYTHON=/usr/bin/python3.11 UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy PATH=/opt/uv/bin:$PATH

# --- one virtualenv per service in /opt/<service>: third-party packages first (a layer that
# changes only with uv.lock), then gotk's own packages, installed as wheels (no source tree).
FROM uv AS venvs
WORKDIR /src
ENV SERVICES="source-controller kustomize-controller helm-controller web-ui"
COPY pyproject.toml uv.lock ./
RUN --mount=type=secret,id=build-ca --mount=type=cache,target=/root/.cache/uv \
    if [ -s /run/secrets/build-ca ]; then export SSL_CERT_FILE=/run/secrets/build-ca; fi \
    && for service in $SERVICES; do \
         UV_PROJECT_ENVIRONMENT=/opt/$service \
           uv sync --frozen --no-dev --no-install-workspace --package "$service" || exit 1; \
       done
COPY libs libs
COPY services services
RUN --mount=type=secret,id=build-ca --mount=type=cache,target=/root/.cache/uv \
    if [ -s /run/secrets/build-ca ]; then export SSL_CERT_FILE=/run/secrets/build-ca; fi \
    && for service in $SERVICES; do \
         UV_PROJECT_ENVIRONMENT=/opt/$service \
           uv sync --frozen --no-dev --no-editable --package "$service" || exit 1; \
       done

# --- the services
FROM python AS source-controller
# git and ssh fetch GitRepositories; gpg verifies their signatures; helm packages charts.
# /data is the artifact storage, owned by gotk so a fresh named volume is writable.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client gpg gpgconf \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o 65532 -g 65532 /data
COPY .gotk/images/tools/helm /usr/local/bin/
COPY --from=venvs /opt/source-controller /opt/source-controller
COPY tools/images/healthcheck.py /usr/local/lib/gotk/
ENV PATH=/opt/source-controller/bin:$PATH GOTK_TOOLS_BIN=/usr/local/bin
USER 65532:65532
EXPOSE 9090 8080 9440
ENTRYPOINT ["/usr/bin/tini", "--", "python", "-m", "source_controller"]

FROM python AS kustomize-controller
# gpg (with its agent, for secret keys) decrypts SOPS files encrypted to OpenPGP keys.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gpg gpg-agent gpgconf \
    && rm -rf /var/lib/apt/lists/*
COPY .gotk/images/tools/kustomize .gotk/images/tools/sops /usr/local/bin/
COPY --from=venvs /opt/kustomize-controller /opt/kustomize-controller
COPY tools/images/healthcheck.py /usr/local/lib/gotk/
ENV PATH=/opt/kustomize-controller/bin:$PATH GOTK_TOOLS_BIN=/usr/local/bin
USER 65532:65532
EXPOSE 8080 9440
ENTRYPOINT ["/usr/bin/tini", "--", "python", "-m", "kustomize_controller"]

FROM python AS helm-controller
# kustomize runs HelmRelease spec.postRenderers (inside gotk's Helm post-renderer plugin).
COPY .gotk/images/tools/helm .gotk/images/tools/kustomize /usr/local/bin/
COPY --from=venvs /opt/helm-controller /opt/helm-controller
COPY tools/images/healthcheck.py /usr/local/lib/gotk/
ENV PATH=/opt/helm-controller/bin:$PATH GOTK_TOOLS_BIN=/usr/local/bin
USER 65532:65532
EXPOSE 8080 9440
ENTRYPOINT ["/usr/bin/tini", "--", "python", "-m", "helm_controller"]

FROM python AS web-ui
COPY --from=venvs /opt/web-ui /opt/web-ui
COPY tools/images/healthcheck.py /usr/local/lib/gotk/
ENV PATH=/opt/web-ui/bin:$PATH
USER 65532:65532
EXPOSE 9080
ENTRYPOINT ["/usr/bin/tini", "--", "python", "-m", "gotk_ui"]
