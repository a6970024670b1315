-- Buildings with what coverage counts: households, compound (its population is shared out by households) and
-- the current micro-grid holding the building's point; and the service sites.
SELECT b.id, b.ext_id, b.label, b.households, b.compound_id, c.ext_id AS compound_ext_id, c.name AS compound_name,
       c.households AS compound_households, c.population AS compound_population, m.code AS micro_code,
       ST_X(p.g) AS lon, ST_Y(p.g) AS lat
  FROM building b
  JOIN compound c ON c.id = b.compound_id
 CROSS JOIN LATERAL (SELECT ST_PointOnSurface(b.geom) AS g) p
  LEFT JOIN LATERAL (
        SELECT u.code FROM grid_unit u
         WHERE u.level = 'micro' AND u.valid_to IS NULL AND u.geom && p.g AND ST_Covers(u.geom, p.g)
         ORDER BY u.code LIMIT 1
  ) m ON true
 ORDER BY b.id
