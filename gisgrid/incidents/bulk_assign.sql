-- Assign every staged point at once, polygon-driven: for each micro-grid generation that may apply, the staged
-- points inside it come from the GiST index on bulk_staging.geom, and the same for compounds. OFFSET 0 keeps
-- each subquery whole: without it the LATERAL subquery is pulled up and the planner goes back to one probe of
-- grid_unit's index per point, several times slower at 1M points (benchmarks/results/incidents.md).
-- The rule is assign.sql's: the generation in force at reported_at that ST_Covers the point, the smallest
-- code on a shared edge; the community of its general grid's generation in force then; the covering compound
-- with the smallest id. Micro-grid and compound hits are merged by one GROUP BY, not a join: the row counts
-- of LATERAL results are unknown to the planner, and a join chosen on a guess of 1 row is quadratic.
CREATE TEMP TABLE bulk_assigned ON COMMIT DROP AS
WITH grids AS (
    -- The micro-grid generations that may apply, each with its general grid's generations in that window
    -- (looked up once per grid here, not once per point).
    SELECT u.id, u.code, u.parent_code, u.geom, u.valid_from, u.valid_to, g.parent_code AS community_code,
           g.valid_from AS general_from, g.valid_to AS general_to
      FROM grid_unit u
      LEFT JOIN grid_unit g
             ON g.code = u.parent_code AND g.level = 'general'
            AND g.valid_from <= CAST(:last_at AS timestamptz)
            AND coalesce(g.valid_to, 'infinity') > CAST(:first_at AS timestamptz)
     WHERE u.level = 'micro'
       AND u.valid_from <= CAST(:last_at AS timestamptz)
       AND coalesce(u.valid_to, 'infinity') > CAST(:first_at AS timestamptz)
    OFFSET 0
), micro AS (
    SELECT DISTINCT ON (s.row_no) s.row_no, u.id AS grid_unit_id, u.code AS micro_code,
           u.parent_code AS general_code,
           CASE WHEN u.general_from <= s.reported_at AND s.reported_at < coalesce(u.general_to, 'infinity')
                THEN u.community_code END AS community_code
      FROM grids u
     CROSS JOIN LATERAL (
           SELECT b.row_no, b.reported_at
             FROM bulk_staging b
            WHERE b.geom && u.geom AND ST_Covers(u.geom, b.geom)
              AND u.valid_from <= b.reported_at AND b.reported_at < coalesce(u.valid_to, 'infinity')
           OFFSET 0) s
     ORDER BY s.row_no, u.code, community_code NULLS LAST
), covering AS (
    SELECT DISTINCT ON (s.row_no) s.row_no, c.id AS compound_id
      FROM compound c
     CROSS JOIN LATERAL (
           SELECT b.row_no FROM bulk_staging b WHERE b.geom && c.geom AND ST_Covers(c.geom, b.geom) OFFSET 0
           ) s
     ORDER BY s.row_no, c.id
)
SELECT row_no, max(grid_unit_id) AS grid_unit_id, max(micro_code) AS micro_code,
       max(general_code) AS general_code, max(community_code) AS community_code,
       left(max(micro_code), 9) AS subdistrict_code, max(compound_id) AS compound_id
  FROM (SELECT row_no, grid_unit_id, micro_code, general_code, community_code, NULL::bigint AS compound_id
          FROM micro
        UNION ALL
        SELECT row_no, NULL, NULL, NULL, NULL, compound_id
          FROM covering) hits
 GROUP BY row_no
HAVING max(micro_code) IS NOT NULL
