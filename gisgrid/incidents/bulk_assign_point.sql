-- The same assignment point-driven (the plan PostgreSQL picks for a plain join): for each staged point, one
-- probe of grid_unit's GiST index. Kept as the benchmark's baseline and to check that both plans agree.
CREATE TEMP TABLE bulk_assigned ON COMMIT DROP AS
SELECT s.row_no, u.id AS grid_unit_id, u.code AS micro_code, u.parent_code AS general_code,
       g.parent_code AS community_code, left(u.code, 9) AS subdistrict_code,
       (SELECT c.id FROM compound c WHERE c.geom && s.geom AND ST_Covers(c.geom, s.geom) ORDER BY c.id LIMIT 1)
           AS compound_id
  FROM bulk_staging s
 CROSS JOIN LATERAL (
       SELECT u.id, u.code, u.parent_code
         FROM grid_unit u
        WHERE u.level = 'micro' AND u.geom && s.geom AND ST_Covers(u.geom, s.geom)
          AND u.valid_from <= s.reported_at AND s.reported_at < coalesce(u.valid_to, 'infinity')
        ORDER BY u.code
        LIMIT 1
       ) u
  LEFT JOIN grid_unit g
         ON g.code = u.parent_code AND g.level = 'general'
        AND g.valid_from <= s.reported_at AND s.reported_at < coalesce(g.valid_to, 'infinity')
