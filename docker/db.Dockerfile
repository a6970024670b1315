# PostgreSQL 15 with PostGIS 3 and pgRouting, from Debian's packages (the same ones ./dev installs).
FROM postgres:15-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15-postgis-3 postgresql-15-pgrouting \
 && rm -rf /var/lib/apt/lists/*
COPY docker/db-init.sql /docker-entrypoint-initdb.d/10-extensions.sql
