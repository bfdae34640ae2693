FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY application ./application
COPY projections ./projections
COPY api ./api
COPY infrastructure ./infrastructure
RUN pip install --no-cache-dir . && useradd --create-home ecovarejo \
    && install -d -o ecovarejo -m 0700 /home/ecovarejo/ledger
USER ecovarejo
EXPOSE 8000
CMD ["ecovarejo", "serve", "--host", "0.0.0.0", "--port", "8000"]
