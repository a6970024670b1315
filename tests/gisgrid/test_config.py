"""Every GISGRID_* setting is documented in the README's configuration table and read from the environment."""

from __future__ import annotations

import pytest

from gisgrid.config import PROJECT_ROOT, SETTINGS_CLASSES, DatabaseSettings, MapSettings


def test_every_setting_is_in_the_readme() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    names = [f"GISGRID_{field.upper()}" for cls in SETTINGS_CLASSES for field in cls.model_fields]
    missing = [n for n in names if f"`{n}`" not in readme]
    assert not missing, f"settings not documented in README.md: {missing}"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GISGRID_DB_PORT", "61234")
    monkeypatch.setenv("GISGRID_TILE_URL", "https://tiles.example/{z}/{x}/{y}.png")
    assert DatabaseSettings().db_port == 61234
    assert MapSettings().tile_url.endswith("{y}.png")
    assert "61234" in DatabaseSettings(database_url=None).url()


def test_external_url_switches_database_name() -> None:
    db = DatabaseSettings(database_url="postgresql+psycopg2://u:p@db.example:5432/prod")
    assert db.url() == "postgresql+psycopg2://u:p@db.example:5432/prod"
    assert db.url(dbname="other").endswith("/other")
