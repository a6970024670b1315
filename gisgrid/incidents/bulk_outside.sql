-- Staged points no micro-grid in force at their time covers, with the nearest such micro-grid and its
-- distance (KNN on the GiST index, computed only for these few rows).
SELECT s.row_no, n.code, n.distance_m
  FROM bulk_staging s
  LEFT JOIN LATERAL (
       SELECT u.code, round(ST_Distance(u.geom::geography, s.geom::geography)::numeric, 1) AS distance_m
         FROM grid_unit u
        WHERE u.level = 'micro'
          AND u.valid_from <= s.reported_at AND s.reported_at < coalesce(u.valid_to, 'infinity')
        ORDER BY u.geom <-> s.geom
        LIMIT 1
       ) n ON true
 WHERE NOT EXISTS (SELECT 1 FROM bulk_assigned a WHERE a.row_no = s.row_no)
 ORDER BY s.row_no
