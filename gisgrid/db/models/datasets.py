"""The record of data sets loaded (e.g. the demo), so an unchanged data set is not loaded twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gisgrid.db.models.base import Base


class DatasetLoad(Base):
    """A record of each data set loaded (e.g. the demo), with the hash of its files."""

    __tablename__ = "dataset_load"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    files_hash: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict, server_default="{}")
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
