"""incidents: categories with step time limits, incidents assigned to the grid generation in force, timeline;
walking access from network nodes to the nearest service sites

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import json

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATUSES = ("reported", "filed", "dispatched", "handling", "handled", "verified", "closed", "rejected")
LEVELS = ("micro", "grid", "subdistrict", "department")
# Hours allowed per workflow step (reported→filed, filed→dispatched, dispatched→handling, handling→handled,
# handled→verified, verified→closed): defaults of a digital city-management scheme; data, editable later.
STANDARD = {"file": 2, "dispatch": 2, "start": 4, "handle": 48, "verify": 24, "close": 24}
URGENT = {"file": 0.5, "dispatch": 0.5, "start": 1, "handle": 12, "verify": 12, "close": 24}
CATEGORIES = [
    # code, parent, zh, en, limits, duplicate radius m, duplicate window h
    ("zongzhi", None, "综治维稳", "Public security and stability", STANDARD, 100, 72),
    ("zongzhi.dispute", "zongzhi", "矛盾纠纷", "Neighbour dispute", STANDARD, 50, 72),
    ("zongzhi.hazard", "zongzhi", "治安隐患", "Public-order hazard", URGENT, 100, 24),
    ("chengguan", None, "城市管理", "City management", STANDARD, 50, 72),
    ("chengguan.litter", "chengguan", "垃圾堆放", "Rubbish dumped", STANDARD, 50, 72),
    ("chengguan.stall", "chengguan", "占道经营", "Street stall blocking the way", STANDARD, 50, 24),
    ("chengguan.facility", "chengguan", "市政设施损坏", "Damaged public facility", STANDARD, 30, 168),
    ("anquan", None, "安全生产", "Work safety", URGENT, 100, 72),
    ("anquan.site", "anquan", "施工安全", "Construction-site safety", URGENT, 100, 72),
    ("minsheng", None, "民生服务", "Livelihood services", STANDARD, 50, 168),
    ("minsheng.errand", "minsheng", "代办事项", "Errand on a resident's behalf", STANDARD, 20, 168),
    ("xiaofang", None, "消防", "Fire safety", URGENT, 50, 24),
    ("xiaofang.passage", "xiaofang", "消防通道堵塞", "Fire lane blocked", URGENT, 50, 24),
    ("xiaofang.charging", "xiaofang", "电动车违规充电", "E-bike charged indoors", URGENT, 30, 24),
    ("jindu", None, "禁毒", "Anti-drug", STANDARD, 200, 168),
    ("hehu", None, "河湖", "Rivers and lakes", STANDARD, 200, 48),
    ("hehu.floating", "hehu", "河面漂浮物", "Floating rubbish", STANDARD, 200, 48),
    ("hehu.fishing", "hehu", "禁渔期垂钓", "Fishing in the closed season", STANDARD, 300, 24),
    ("guanai", None, "关爱帮扶", "Care for vulnerable residents", STANDARD, 20, 168),
    ("guanai.elderly", "guanai", "独居老人关爱", "Elderly living alone", STANDARD, 20, 168),
]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "incident_category",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("parent_code", sa.String(40), sa.ForeignKey("incident_category.code")),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("step_hours", JSONB, nullable=False),
        sa.Column("duplicate_radius_m", sa.Float, nullable=False, server_default="50"),
        sa.Column("duplicate_window_h", sa.Float, nullable=False, server_default="72"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    )
    table = sa.table(
        "incident_category",
        sa.column("code"),
        sa.column("parent_code"),
        sa.column("name_zh"),
        sa.column("name_en"),
        sa.column("step_hours", JSONB),
        sa.column("duplicate_radius_m"),
        sa.column("duplicate_window_h"),
    )
    op.bulk_insert(
        table,
        [
            {
                "code": c,
                "parent_code": p,
                "name_zh": zh,
                "name_en": en,
                "step_hours": json.loads(json.dumps(h)),
                "duplicate_radius_m": r,
                "duplicate_window_h": w,
            }
            for c, p, zh, en, h, r, w in CATEGORIES
        ],
    )

    op.create_table(
        "incident",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("ext_id", sa.String(64), unique=True),
        sa.Column("category_code", sa.String(40), sa.ForeignKey("incident_category.code"), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("channel", sa.String(20), nullable=False, server_default="dispatcher"),
        sa.Column("status", sa.String(16), nullable=False, server_default="reported"),
        sa.Column("level", sa.String(16), nullable=False, server_default="micro"),
        sa.Column("department", sa.Text),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("input_crs", sa.String(12), nullable=False, server_default="wgs84"),
        sa.Column("input_lon", sa.Float),
        sa.Column("input_lat", sa.Float),
        sa.Column("grid_unit_id", sa.BigInteger, sa.ForeignKey("grid_unit.id", ondelete="SET NULL")),
        sa.Column("micro_code", sa.String(32)),
        sa.Column("general_code", sa.String(32)),
        sa.Column("community_code", sa.String(32)),
        sa.Column("subdistrict_code", sa.String(32)),
        sa.Column("compound_id", sa.BigInteger, sa.ForeignKey("compound.id", ondelete="SET NULL")),
        sa.Column("address", sa.Text),
        sa.Column("reporter", sa.Text),
        sa.Column("created_by", sa.Text),
        sa.Column(
            "step_started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("step_due_at", sa.DateTime(timezone=True)),
        sa.Column("dispatched_at", sa.DateTime(timezone=True)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.CheckConstraint(f"status IN {STATUSES}", name="incident_status"),
        sa.CheckConstraint(f"level IN {LEVELS}", name="incident_level"),
    )
    op.create_index("ix_incident_geom", "incident", ["geom"], postgresql_using="gist")
    op.create_index("ix_incident_micro_code", "incident", ["micro_code"])
    op.create_index("ix_incident_community_code", "incident", ["community_code"])
    op.create_index("ix_incident_status", "incident", ["status"])
    op.create_index("ix_incident_category_reported", "incident", ["category_code", "reported_at"])

    op.create_table(
        "incident_event",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "incident_id", sa.BigInteger, sa.ForeignKey("incident.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.Text),
        sa.Column("role", sa.Text),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16)),
        sa.Column("comment", sa.Text),
        sa.Column("attachments", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("detail", JSONB),
    )
    op.create_index("ix_incident_event_incident", "incident_event", ["incident_id", "at"])

    # For each walking-network node, the nearest service sites along the network (rank 1..3), precomputed
    # with pgRouting after a load so that locating an incident costs one index lookup.
    op.create_table(
        "walk_site_access",
        sa.Column(
            "node_id", sa.BigInteger, sa.ForeignKey("walk_node.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("rank", sa.SmallInteger, primary_key=True),
        sa.Column(
            "site_id", sa.BigInteger, sa.ForeignKey("service_site.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("distance_m", sa.Float, nullable=False),
    )
    op.execute("CREATE INDEX ix_compound_name_trgm ON compound USING gin (name gin_trgm_ops)")
    op.execute("CREATE INDEX ix_building_label ON building (compound_id, label)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_building_label")
    op.execute("DROP INDEX IF EXISTS ix_compound_name_trgm")
    op.drop_table("walk_site_access")
    op.drop_table("incident_event")
    op.drop_table("incident")
    op.drop_table("incident_category")
