-- Search grid units, compounds and service sites by name, alias or code (:pattern is an escaped ILIKE pattern).
-- Ranking: exact match, then prefix match, then substring; then coarser units first (community before micro-grid),
-- then shorter names.
SELECT * FROM (
(SELECT 'grid' AS kind, g.level AS subkind, g.code AS key, g.name, g.code,
        ST_X(ST_PointOnSurface(g.geom)) AS lon, ST_Y(ST_PointOnSurface(g.geom)) AS lat,
        ST_XMin(g.geom) AS minx, ST_YMin(g.geom) AS miny, ST_XMax(g.geom) AS maxx, ST_YMax(g.geom) AS maxy,
        CASE WHEN g.code = :q OR g.name = :q THEN 0 WHEN g.name ILIKE :prefix ESCAPE '\' THEN 1 ELSE 2 END AS rank,
        CASE g.level WHEN 'subdistrict' THEN 0 WHEN 'community' THEN 1 WHEN 'general' THEN 2 ELSE 4 END AS kind_rank
   FROM grid_unit g
  WHERE g.valid_to IS NULL AND (g.name ILIKE :pattern ESCAPE '\' OR g.code LIKE :prefix ESCAPE '\'))
UNION ALL
(SELECT 'compound', NULL, c.ext_id, c.name, NULL,
        ST_X(ST_PointOnSurface(c.geom)), ST_Y(ST_PointOnSurface(c.geom)),
        ST_XMin(c.geom), ST_YMin(c.geom), ST_XMax(c.geom), ST_YMax(c.geom),
        CASE WHEN c.name = :q THEN 0 WHEN c.name ILIKE :prefix ESCAPE '\' THEN 1 ELSE 2 END, 3
   FROM compound c
  WHERE c.name ILIKE :pattern ESCAPE '\'
     OR EXISTS (SELECT 1 FROM unnest(c.aliases) a WHERE a ILIKE :pattern ESCAPE '\'))
UNION ALL
(SELECT 'site', s.kind, s.ext_id, s.name, NULL, ST_X(s.geom), ST_Y(s.geom),
        ST_X(s.geom), ST_Y(s.geom), ST_X(s.geom), ST_Y(s.geom),
        CASE WHEN s.name = :q THEN 0 WHEN s.name ILIKE :prefix ESCAPE '\' THEN 1 ELSE 2 END, 5
   FROM service_site s
  WHERE s.name ILIKE :pattern ESCAPE '\' OR coalesce(s.brand, '') ILIKE :pattern ESCAPE '\')
) hits
ORDER BY rank, kind_rank, length(name), name
LIMIT :limit
