-- The micro-grid generation in force at :at that covers a WGS 84 point (smallest code on a shared edge), with
-- the codes of its general grid, community and subdistrict (micro codes are prefixes: 9+3+3+3 digits).
SELECT u.id, u.code, u.name, u.parent_code AS general_code,
       (SELECT g.parent_code FROM grid_unit g WHERE g.code = u.parent_code
           AND g.valid_from <= :at AND (g.valid_to IS NULL OR g.valid_to > :at)) AS community_code,
       left(u.code, 9) AS subdistrict_code,
       (SELECT c.id FROM compound c WHERE c.geom && u.geom AND ST_Covers(c.geom, p.g) ORDER BY c.id LIMIT 1)
           AS compound_id
  FROM grid_unit u, (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g) p
 WHERE u.level = 'micro' AND u.valid_from <= :at AND (u.valid_to IS NULL OR u.valid_to > :at)
   AND u.geom && p.g AND ST_Covers(u.geom, p.g)
 ORDER BY u.code
 LIMIT 1
