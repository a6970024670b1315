"""gisgrid: 微网实格 grid management on PostGIS."""

__version__ = "0.1.0"
