-- Compounds whose name or alias resembles :name (trigram similarity or substring), best first, with the
-- building labelled :label when one was asked for. Points are inside the building or compound (WGS 84).
WITH hits AS (
    SELECT c.id, c.ext_id, c.name, c.aliases, c.geom,
           greatest(similarity(c.name, :name),
                    coalesce((SELECT max(similarity(a, :name)) FROM unnest(c.aliases) a), 0),
                    CASE WHEN c.name ILIKE :pattern ESCAPE '\'
                           OR EXISTS (SELECT 1 FROM unnest(c.aliases) a WHERE a ILIKE :pattern ESCAPE '\')
                         THEN 0.5 ELSE 0 END) AS score
      FROM compound c
     WHERE c.name % :name OR c.name ILIKE :pattern ESCAPE '\'
        OR EXISTS (SELECT 1 FROM unnest(c.aliases) a WHERE a % :name OR a ILIKE :pattern ESCAPE '\')
     ORDER BY score DESC, c.name
     LIMIT :limit
)
SELECT h.ext_id AS compound_id, h.name AS compound, h.aliases, round(h.score::numeric, 3) AS score,
       b.ext_id AS building_id, b.label AS building,
       ST_X(ST_PointOnSurface(coalesce(b.geom, h.geom))) AS lon,
       ST_Y(ST_PointOnSurface(coalesce(b.geom, h.geom))) AS lat
  FROM hits h
  LEFT JOIN building b ON b.compound_id = h.id AND b.label = :label
 WHERE :label IS NULL OR b.id IS NOT NULL
 ORDER BY h.score DESC, h.name
