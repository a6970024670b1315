"""Settings: pydantic-settings, env prefix GISGRID_, one small class per concern."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ROLE_NAME = r"^[a-z_][a-z0-9_]{0,62}$"


def _config(**extra: object) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix="GISGRID_", extra="ignore", **extra)  # type: ignore[typeddict-item]


class DatabaseSettings(BaseSettings):
    """Where the database is: an external server (database_url) or the project's own cluster."""

    model_config = _config()
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL the app connects with (as the app role) to an external PostGIS; unset = the "
        "project's own cluster",
    )
    database_admin_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of a superuser on the same server: creates databases, roles and extensions, "
        "runs migrations (as the owner role), backups and restores; unset = GISGRID_DATABASE_URL, or `postgres` "
        "on the project's own cluster",
    )
    db_owner_role: str = Field(
        default="gisgrid_owner",
        pattern=ROLE_NAME,
        description="role that owns the schema (NOLOGIN; migrations run as it)",
    )
    db_app_role: str = Field(
        default="gisgrid_app",
        pattern=ROLE_NAME,
        description="the app's own role: no superuser, owns nothing, only reads and writes rows (audit_log: "
        "INSERT and SELECT only)",
    )
    db_port: int = Field(default=55432, description="TCP port of the project's own cluster (127.0.0.1)")
    db_name: str = Field(default="gisgrid", description="database name in the project's own cluster")
    db_cluster_dir: Path = Field(
        default=PROJECT_ROOT / "var" / "pg", description="data, socket and log of the project's own cluster"
    )
    db_wal_archive: bool = Field(
        default=True, description="the project's own cluster archives its WAL (point-in-time restore)"
    )
    db_wal_archive_dir: Path = Field(
        default=PROJECT_ROOT / "var" / "wal-archive",
        description="where the own cluster's completed WAL segments are archived",
    )
    db_archive_timeout_s: int = Field(
        default=60,
        ge=0,
        description="archive_timeout: a busy server switches to a new WAL segment at least this often, so at "
        "most this many seconds of commits are only in the data folder (0 = only when a segment is full)",
    )
    db_base_backup_dir: Path = Field(
        default=PROJECT_ROOT / "var" / "base-backups", description="where `gisgrid backup --base` writes"
    )
    db_base_backups_keep: int = Field(
        default=3, ge=1, description="base backups kept; archived WAL older than the oldest kept is removed"
    )
    db_standby_port: int | None = Field(
        default=None,
        description="port of the local hot standby; when set, the app's URL lists primary and standby "
        "(target_session_attrs=read-write), so it follows a promoted standby",
    )
    db_standby_dir: Path = Field(
        default=PROJECT_ROOT / "var" / "pg-standby", description="data, socket and log of the local standby"
    )
    db_pool_size: int = Field(default=10, ge=1, description="connections kept open by the app")
    db_async_pool_size: int | None = Field(
        default=None,
        ge=1,
        description="connections of the async pool behind GET /api/locate; default 2 × CPU cores + 1 (more "
        "backends than cores only lengthens the latency tail: benchmarks/results/locate.md)",
    )

    @property
    def async_pool_size(self) -> int:
        """The async pool's size: the setting, or 2 × CPU cores + 1."""
        return self.db_async_pool_size or 2 * (os.cpu_count() or 1) + 1

    @property
    def external(self) -> bool:
        """True when an external server is configured (no local cluster)."""
        return bool(self.database_url or self.database_admin_url)

    def url(self, *, dbname: str | None = None) -> str:
        """The app's URL (the app role), for the external server or the local cluster."""
        if self.database_url:
            return _with_database(self.database_url, dbname)
        if self.database_admin_url:
            # The admin's server and database, as the app role (a server that trusts it, or ~/.pgpass).
            admin = make_url(self.database_admin_url).set(username=self.db_app_role, password=None)
            return _with_database(admin.render_as_string(hide_password=False), dbname)
        return self._local_url(self.db_app_role, dbname)

    def admin_url(self, *, dbname: str | None = None) -> str:
        """The admin's URL: databases, roles, extensions, migrations, backups and restores."""
        if self.database_admin_url or self.database_url:
            return _with_database(self.database_admin_url or self.database_url or "", dbname)
        return self._local_url("postgres", dbname)

    def _local_url(self, user: str, dbname: str | None) -> str:
        name = dbname or self.db_name
        if self.db_standby_port is not None:
            # libpq tries the hosts in order and keeps the one that accepts writes: after a failover, the
            # promoted standby (psycopg2 and asyncpg both understand this form).
            return (
                f"postgresql+psycopg2://{user}@/{name}?host=127.0.0.1:{self.db_port}"
                f"&host=127.0.0.1:{self.db_standby_port}&target_session_attrs=read-write"
            )
        return f"postgresql+psycopg2://{user}@127.0.0.1:{self.db_port}/{name}"


def _with_database(url: str, dbname: str | None) -> str:
    if dbname is None:
        return url
    # Through make_url, so that a multi-host URL keeps its ?host=…&target_session_attrs=… query.
    return make_url(url).set(database=dbname).render_as_string(hide_password=False)


class ServerSettings(BaseSettings):
    """How the web app is served."""

    model_config = _config()
    host: str = Field(default="127.0.0.1", description="address the app listens on")
    port: int = Field(default=8000, description="port the app listens on")


class MapSettings(BaseSettings):
    """The map page and the GeoJSON layer endpoints."""

    model_config = _config()
    tile_url: str = Field(
        default="",
        description="optional online tile layer URL template ({z}/{x}/{y}); empty = offline base map",
    )
    tile_attribution: str = Field(default="", description="attribution shown for the optional tile layer")
    layer_max_features: int = Field(
        default=5000, description="largest page of features one layer request returns"
    )
    default_language: str = Field(
        default="zh", description="language of the web pages at first visit: zh or en"
    )


class GeoSettings(BaseSettings):
    """Coordinate systems for metric work."""

    model_config = _config()
    metric_srid: int = Field(
        default=4544, description="projected CRS for lengths/areas (CGCS2000 GK CM 105E)"
    )
    road_snap_m: float = Field(
        default=15.0,
        ge=0,
        le=100,
        description="a road-line import (walk_edges, roads=true) moves a line end this close to another line onto it",
    )
    road_duplicate_m: float = Field(
        default=8.0,
        ge=0,
        le=50,
        description="a road-line import drops a line lying within this of a kept line of the same street (a two-way "
        "street drawn once per direction)",
    )


class DataSettings(BaseSettings):
    """Where the demo data set and the backups live."""

    model_config = _config()
    demo_dir: Path = Field(default=PROJECT_ROOT / "data" / "geo", description="folder of the demo data set")
    backup_dir: Path = Field(
        default=PROJECT_ROOT / "var" / "backups", description="folder of `gisgrid backup` dumps and manifests"
    )


class GridRuleSettings(BaseSettings):
    """Topology and size rules of the grid hierarchy."""

    model_config = _config()
    sliver_m2: float = Field(
        default=1.0, description="overlaps/gaps smaller than this are warnings (slivers)"
    )
    micro_min_households: int = Field(default=30, description="fewest households a micro-grid should have")
    micro_max_households: int = Field(default=100, description="most households a micro-grid should have")
    edit_snap_m: float = Field(
        default=1.0,
        gt=0,
        le=50,
        description="boundary edits: how far (m) a drawn edge's ends may lie from the end nodes they snap to",
    )


class AuthSettings(BaseSettings):
    """Log-in, sessions, API tokens and lock-out."""

    model_config = _config()
    secret_key_file: Path = Field(
        default=PROJECT_ROOT / "var" / "secret_key",
        description="secret key, generated on first run (never commit)",
    )
    session_hours: float = Field(default=8.0, description="a web session expires this long after log-in")
    token_days: int = Field(default=90, ge=1, description="default lifetime of an API token")
    token_max_days: int = Field(
        default=180,
        ge=1,
        description="longest lifetime an API token may be given (a longer request is refused)",
    )
    max_failed_logins: int = Field(
        default=5, ge=1, description="failed log-ins within the lock-out window before the account locks"
    )
    lockout_minutes: int = Field(
        default=15,
        ge=1,
        description="how long a locked account stays locked, and the window failures count in",
    )
    max_failed_logins_per_ip: int = Field(
        default=20, ge=1, description="failed log-ins from one address within the window before it must wait"
    )
    cookie_secure: bool = Field(default=False, description="send the session cookie over HTTPS only")
    audit_refused_per_minute: int = Field(
        default=60,
        ge=1,
        description="refused requests (403, CSRF, refused imports) one account or address gets an audit row for "
        "per minute; more are answered but not recorded, so that nobody can flood the audit log",
    )


class IncidentSettings(BaseSettings):
    """Locating and handling incidents."""

    model_config = _config()
    locate_accuracy_m: float = Field(
        default=15.0,
        description="default accuracy circle (m) of a located point; grids it touches are candidates",
    )


class CoverageSettings(BaseSettings):
    """The 10-minute service circle's walking coverage (gisgrid/coverage)."""

    model_config = _config()
    coverage_threshold: str = Field(
        default="10min",
        description="default walking threshold: metres ('500m'), minutes at a speed ('10min', '10min@adult') or "
        "GB 50180-2018 life circles ('gb5' 300 m, 'gb10' 500 m, 'gb15' 800 m)",
    )
    coverage_walk_speed: str = Field(
        default="older",
        description="speed for thresholds in minutes: older (0.9 m/s), adult (1.3 m/s) or m/s "
        "(sources in gisgrid/coverage/thresholds.py)",
    )
    coverage_buffer_m: float = Field(
        default=25.0,
        gt=0,
        le=200,
        description="half-width (m) of the service-area polygons around the reached network, and the distance "
        "within which uncovered buildings form one gap area",
    )
    coverage_site_flag_m: float = Field(
        default=200.0, gt=0, description="a site farther than this (m) from every edge is snapped and flagged"
    )


class JobSettings(BaseSettings):
    """The job queue and its worker (long runs: imports, derived data, reports)."""

    model_config = _config()
    jobs_worker: bool = Field(
        default=True, description="run a job worker inside the app (`gisgrid serve`); false = only enqueue"
    )
    jobs_concurrency: int = Field(default=1, ge=1, description="jobs one worker runs at the same time")
    jobs_max_attempts: int = Field(
        default=3, ge=1, description="runs of a job that meets a transient failure (e.g. a lost connection)"
    )
    jobs_retry_wait_s: int = Field(
        default=5, ge=0, description="seconds before a transient failure is retried"
    )
    jobs_upload_dir: Path = Field(
        default=PROJECT_ROOT / "var" / "uploads",
        description="uploaded files wait here for their import job (removed when the job has finished)",
    )
    jobs_output_dir: Path = Field(
        default=PROJECT_ROOT / "var" / "job-output",
        description="files jobs make (coverage-audit reports) wait here for download, one folder per job",
    )
    jobs_poll_s: float = Field(
        default=5.0, gt=0, description="seconds between polls for new jobs (LISTEN/NOTIFY wakes it sooner)"
    )


class ImportLimitSettings(BaseSettings):
    """What one imported file may hold: checked while it is read, so that a hostile file costs little."""

    model_config = _config()
    import_max_unpacked_mb: int = Field(
        default=512,
        ge=1,
        description="largest file (MB) after unpacking: a zipped Shapefile's members, an XLSX workbook's parts",
    )
    import_max_features: int = Field(
        default=200_000,
        ge=1,
        description="most features of one layer file (city-scale sets: the bulk loader)",
    )
    import_max_rows: int = Field(default=1_000_000, ge=1, description="most rows of one 12345-hotline file")
    import_max_vertices: int = Field(default=50_000, ge=4, description="most vertices of one feature")
    import_max_text_chars: int = Field(
        default=1_000, ge=10, description="longest text value of a field without a limit of its own"
    )


class Settings:
    """All settings, grouped by concern."""

    def __init__(
        self,
        *,
        db: DatabaseSettings | None = None,
        server: ServerSettings | None = None,
        map: MapSettings | None = None,
        geo: GeoSettings | None = None,
        data: DataSettings | None = None,
        grid_rules: GridRuleSettings | None = None,
        auth: AuthSettings | None = None,
        incidents: IncidentSettings | None = None,
        jobs: JobSettings | None = None,
        imports: ImportLimitSettings | None = None,
        coverage: CoverageSettings | None = None,
    ) -> None:
        self.db = db or DatabaseSettings()
        self.server = server or ServerSettings()
        self.map = map or MapSettings()
        self.geo = geo or GeoSettings()
        self.data = data or DataSettings()
        self.grid_rules = grid_rules or GridRuleSettings()
        self.auth = auth or AuthSettings()
        self.incidents = incidents or IncidentSettings()
        self.jobs = jobs or JobSettings()
        self.imports = imports or ImportLimitSettings()
        self.coverage = coverage or CoverageSettings()


SETTINGS_CLASSES: tuple[type[BaseSettings], ...] = (
    DatabaseSettings,
    ServerSettings,
    MapSettings,
    GeoSettings,
    DataSettings,
    GridRuleSettings,
    AuthSettings,
    IncidentSettings,
    JobSettings,
    ImportLimitSettings,
    CoverageSettings,
)
