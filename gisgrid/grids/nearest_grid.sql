-- The micro-grid in force at :at nearest to a point, and how far it is (for "outside every grid" answers).
SELECT u.code, u.name, round(ST_Distance(u.geom::geography, p.g::geography)::numeric, 1) AS distance_m
  FROM grid_unit u, (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g) p
 WHERE u.level = 'micro' AND u.valid_from <= :at AND (u.valid_to IS NULL OR u.valid_to > :at)
 ORDER BY u.geom <-> p.g
 LIMIT 1
