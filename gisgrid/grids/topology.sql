-- Topology rules over the current generation of grid units (QGIS topology checker parity), in the metric CRS.
-- Parameters: :srid (metric CRS), :sliver_m2 (areas below are warnings), :noise_m2 (areas below are floating-point
-- noise, not reported), :min_hh / :max_hh (micro-grid household range: a warning, as in boundary edits).
-- Each rule yields: rule, severity, code, other, area_m2, detail, geom (WGS 84, where the problem is).
-- `cur` is NOT MATERIALIZED so that the joins below use grid_unit's GiST index.
-- `geom` is the stored geometry (for index filters), `vgeom` a valid one (for overlay operations, which fail
-- on invalid input).
WITH cur AS NOT MATERIALIZED (
    SELECT id, code, level, parent_code, name, households, geom,
           CASE WHEN ST_IsValid(geom) THEN geom ELSE ST_MakeValid(geom) END AS vgeom
      FROM grid_unit WHERE valid_to IS NULL
),
invalid AS (
    SELECT 'invalid_geometry'::text AS rule, 'error'::text AS severity, code, NULL::text AS other,
           NULL::float AS area_m2, ST_IsValidReason(geom) AS detail,
           ST_PointOnSurface(vgeom) AS geom
      FROM cur WHERE NOT ST_IsValid(geom)
),
pairs AS (
    SELECT a.code, b.code AS other, ST_Intersection(a.vgeom, b.vgeom) AS g
      FROM cur a JOIN cur b
        ON a.level = b.level AND a.code < b.code AND a.geom && b.geom
       AND ST_Relate(a.vgeom, b.vgeom, '2********')
),
sibling_overlaps AS (
    SELECT 'overlap', CASE WHEN area < :sliver_m2 THEN 'warning' ELSE 'error' END, code, other, area,
           'siblings overlap', ST_PointOnSurface(g)
      FROM (SELECT *, ST_Area(ST_Transform(g, :srid)) AS area FROM pairs) p
     WHERE area >= :noise_m2
),
children AS (
    SELECT p.code, p.vgeom AS pgeom, ST_Union(c.vgeom) AS cgeom
      FROM cur p JOIN cur c ON c.parent_code = p.code
     GROUP BY p.code, p.vgeom
),
gap_parts AS (
    SELECT code, (ST_Dump(ST_Difference(pgeom, cgeom))).geom AS g FROM children
),
gaps AS (
    SELECT 'gap', CASE WHEN area < :sliver_m2 THEN 'warning' ELSE 'error' END, code, NULL, area,
           'part of the parent not covered by any child', ST_PointOnSurface(g)
      FROM (SELECT *, ST_Area(ST_Transform(g, :srid)) AS area FROM gap_parts) p
     WHERE area >= :noise_m2
),
outside_parts AS (
    SELECT c.code, c.parent_code, (ST_Dump(ST_Difference(c.vgeom, p.vgeom))).geom AS g
      FROM cur c JOIN cur p ON p.code = c.parent_code
     WHERE NOT ST_CoveredBy(c.vgeom, p.vgeom)
),
outside AS (
    SELECT 'outside_parent', CASE WHEN area < :sliver_m2 THEN 'warning' ELSE 'error' END, code, parent_code, area,
           'child extends beyond its parent', ST_PointOnSurface(g)
      FROM (SELECT *, ST_Area(ST_Transform(g, :srid)) AS area FROM outside_parts) p
     WHERE area >= :noise_m2
),
orphans AS (
    SELECT 'parent_missing', 'error', c.code, c.parent_code, NULL::float,
           CASE WHEN c.parent_code IS NULL THEN 'no parent code' ELSE 'parent not found' END,
           ST_PointOnSurface(c.geom)
      FROM cur c LEFT JOIN cur p ON p.code = c.parent_code
     WHERE c.level <> 'subdistrict' AND p.code IS NULL
),
bad_codes AS (
    SELECT 'code_mismatch', 'error', c.code, c.parent_code, NULL::float,
           'expected ' || CASE c.level WHEN 'subdistrict' THEN '9 digits'
                                       ELSE 'parent code + 3 digits' END,
           ST_PointOnSurface(c.geom)
      FROM cur c
     WHERE NOT CASE c.level
               WHEN 'subdistrict' THEN c.code ~ '^[0-9]{9}$'
               ELSE c.parent_code IS NOT NULL AND c.code ~ ('^' || c.parent_code || '[0-9]{3}$')
           END
),
level_mismatch AS (
    SELECT 'level_mismatch', 'error', c.code, p.code, NULL::float,
           c.level || ' under ' || p.level, ST_PointOnSurface(c.geom)
      FROM cur c JOIN cur p ON p.code = c.parent_code
     WHERE (c.level, p.level) NOT IN (('community', 'subdistrict'), ('general', 'community'), ('micro', 'general'))
),
dup_codes AS (
    SELECT 'duplicate_code', 'error', code, NULL, NULL::float, count(*)::text || ' current units share it',
           ST_PointOnSurface(ST_Collect(geom))
      FROM cur GROUP BY code HAVING count(*) > 1
),
valid_compound AS (
    SELECT ext_id, name, geom, CASE WHEN ST_IsValid(geom) THEN geom ELSE ST_MakeValid(geom) END AS vgeom
      FROM compound
),
compound_cover AS (
    SELECT c.ext_id, c.name, c.geom,
           count(g.code) FILTER (WHERE ST_Area(ST_Transform(ST_Intersection(c.vgeom, g.vgeom), :srid)) >= :sliver_m2)
               AS n_parts,
           bool_or(ST_CoveredBy(c.vgeom, g.vgeom)) AS inside_one
      FROM valid_compound c
      LEFT JOIN cur g ON g.level = 'micro' AND g.geom && c.geom AND ST_Intersects(c.vgeom, g.vgeom)
     GROUP BY c.ext_id, c.name, c.geom
),
compounds AS (
    SELECT CASE WHEN n_parts = 0 THEN 'compound_outside' ELSE 'compound_split' END, 'error', ext_id, NULL,
           NULL::float,
           name || CASE WHEN n_parts = 0 THEN ' lies in no micro-grid'
                        ELSE ' is split across ' || n_parts || ' micro-grids' END,
           ST_PointOnSurface(geom)
      FROM compound_cover
     WHERE NOT coalesce(inside_one, FALSE) AND n_parts <> 1
),
households AS (
    SELECT 'household_range', 'warning', code, NULL, NULL::float,
           households || ' households, expected ' || :min_hh || '–' || :max_hh, ST_PointOnSurface(geom)
      FROM cur WHERE level = 'micro' AND (households < :min_hh OR households > :max_hh)
)
SELECT rule, severity, code, other, area_m2, detail, ST_AsGeoJSON(geom, 7) AS geojson FROM (
    SELECT * FROM invalid UNION ALL SELECT * FROM sibling_overlaps UNION ALL SELECT * FROM gaps
    UNION ALL SELECT * FROM outside UNION ALL SELECT * FROM orphans UNION ALL SELECT * FROM bad_codes
    UNION ALL SELECT * FROM level_mismatch UNION ALL SELECT * FROM dup_codes UNION ALL SELECT * FROM compounds
    UNION ALL SELECT * FROM households
) r
ORDER BY severity, rule, code, other
