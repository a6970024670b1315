# The gisgrid app: Python package + npm-managed web assets; talks to the `db` service.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gisgrid gisgrid
COPY api api
RUN pip install --no-cache-dir -e .
COPY web web
RUN cd web && npm ci --no-audit --no-fund
COPY data data
ENV GISGRID_HOST=0.0.0.0
EXPOSE 8000
CMD ["sh", "-c", "gisgrid db up && gisgrid demo load && gisgrid serve --demo"]
