# Two stages: wheels are built where a compiler is, the runtime gets only the wheels.
# `docker build -t ecovarejo .`; the compose file and deploy/kubernetes use this image.

# --- build: every dependency as a wheel (compiled here if PyPI has no wheel for it) ---
FROM python:3.11-bookworm AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY application ./application
COPY projections ./projections
COPY api ./api
COPY infrastructure ./infrastructure
RUN pip wheel --wheel-dir /wheels . \
    && python -m venv /opt/ecovarejo \
    && /opt/ecovarejo/bin/pip install --no-index --find-links=/wheels ecovarejo \
    && /opt/ecovarejo/bin/pip uninstall -y pip setuptools wheel
# (pip compiled the bytecode above: kept, so a read-only container does not compile at start)

# --- runtime: slim, no compiler, no wheels, no pip, no source tree, not root ---
# The same Python at the same path as the build stage, so the venv copies over as it is.
FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/ecovarejo/bin:$PATH
# The same uid/gid as deploy/kubernetes (runAsUser 10001): a fixed, high, unprivileged id.
RUN groupadd --gid 10001 ecovarejo \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin ecovarejo \
    && install -d -o ecovarejo -g ecovarejo -m 0700 /home/ecovarejo/ledger \
       /var/lib/ecovarejo /var/lib/ecovarejo/data /var/lib/ecovarejo/ledger
COPY --from=build /opt/ecovarejo /opt/ecovarejo
WORKDIR /home/ecovarejo
USER 10001:10001
EXPOSE 8000 9464
# Liveness of the API (the default command). The worker serves no HTTP: its compose
# service and Kubernetes probe check its heartbeat file instead.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["ecovarejo", "serve", "--host", "0.0.0.0", "--port", "8000"]
