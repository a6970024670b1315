-- Gaps: the uncovered buildings' footprints, and the areas they form (footprints buffered by :merge_m, unioned,
-- split into parts), each with its buildings and households.
WITH b AS (
    SELECT id, geom, households, ST_Transform(geom, :srid) AS g FROM building WHERE id = ANY(CAST(:ids AS bigint[]))
),
area AS (
    SELECT (ST_Dump(ST_Union(ST_Buffer(g, :merge_m, 'quad_segs=2')))).geom AS a FROM b
)
SELECT 'building' AS what, id, ST_AsGeoJSON(geom, 7)::json AS geometry, NULL::int AS buildings,
       households, NULL::float8 AS area_m2
  FROM b
UNION ALL
SELECT 'area', NULL, ST_AsGeoJSON(ST_Transform(a, 4326), 7)::json, count(b.id), coalesce(sum(b.households), 0),
       ST_Area(a)
  FROM area LEFT JOIN b ON ST_Intersects(b.g, area.a)
 GROUP BY a
