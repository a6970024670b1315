"""The grid hierarchy (subdistrict → community → general grid → micro-grid) and everything that reads or writes it.

- units.py        one unit (current or as of a time) and attribute edits with a version check
- store.py        writing imported units: a new generation, the current one retired on replace
- generations.py  grid generations: each saved set of changes with who/when/why, and what it changed
- topology.py     topology rules checked in PostGIS (gaps, overlaps, containment, codes, sizes)
- locate.py       which grid a point is in (as of a time), who is responsible, nearest sites on foot
- places.py       finding a compound/building by fuzzy name, to locate it
Long SQL sits beside the module that runs it (locate.sql, nearest_grid.sql, assign.sql, …), run through
gisgrid.db.sql.
"""
