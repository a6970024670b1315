"""ORM models, one module per domain; the schema itself changes only through Alembic migrations
(tests/db/test_model_drift.py fails when the two differ).

Everything is re-exported here, so `from gisgrid.db.models import GridUnit` works whichever module defines it,
and importing this package registers every table on `Base.metadata` (Alembic's env.py relies on that). A new
domain's models: a module here, and its names in the imports below.
"""

from gisgrid.db.models.auth import USER_ROLES, AppUser, AuditLog, AuthSession, LoginThrottle
from gisgrid.db.models.base import SRID, Base, geom
from gisgrid.db.models.datasets import DatasetLoad
from gisgrid.db.models.grids import (
    CHANGE_SET_STATUSES,
    GENERATION_SOURCES,
    GRID_LEVELS,
    SPECIAL_GRID_KINDS,
    WORKER_ROLES,
    GridChangeSet,
    GridGeneration,
    GridUnit,
    SpecialGrid,
    Worker,
    WorkerGrid,
)
from gisgrid.db.models.incidents import (
    INCIDENT_LEVELS,
    INCIDENT_STATUSES,
    Incident,
    IncidentCategory,
    IncidentEvent,
)
from gisgrid.db.models.jobs import JOB_STATUSES, Job
from gisgrid.db.models.network import EDGE_KINDS, WalkEdge, WalkNode, WalkSiteAccess
from gisgrid.db.models.places import SITE_KINDS, Building, Compound, ServiceSite
from gisgrid.db.models.rivers import BankSegment, River

__all__ = [
    "EDGE_KINDS",
    "CHANGE_SET_STATUSES",
    "GENERATION_SOURCES",
    "GRID_LEVELS",
    "INCIDENT_LEVELS",
    "INCIDENT_STATUSES",
    "JOB_STATUSES",
    "SITE_KINDS",
    "SPECIAL_GRID_KINDS",
    "SRID",
    "USER_ROLES",
    "WORKER_ROLES",
    "AppUser",
    "AuditLog",
    "AuthSession",
    "LoginThrottle",
    "BankSegment",
    "Base",
    "Building",
    "Compound",
    "DatasetLoad",
    "GridChangeSet",
    "GridGeneration",
    "GridUnit",
    "Incident",
    "IncidentCategory",
    "IncidentEvent",
    "Job",
    "River",
    "ServiceSite",
    "SpecialGrid",
    "WalkEdge",
    "WalkNode",
    "WalkSiteAccess",
    "Worker",
    "WorkerGrid",
    "geom",
]
