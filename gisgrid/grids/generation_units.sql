-- What one generation changed, by unit: a row it began is 'changed' when it also ended that code's earlier row,
-- otherwise 'added'; a row it ended without beginning a successor is 'retired'. Paged by code; `total` counts all.
WITH began AS (
    SELECT code, level, name, version, valid_from, valid_to FROM grid_unit WHERE generation_id = :generation
),
ended AS (
    SELECT code, level, name, version, valid_from, valid_to FROM grid_unit WHERE retired_generation_id = :generation
),
changes AS (
    SELECT b.*, CASE WHEN EXISTS (SELECT 1 FROM ended e WHERE e.code = b.code) THEN 'changed' ELSE 'added' END
               AS change
      FROM began b
    UNION ALL
    SELECT e.*, 'retired' FROM ended e WHERE NOT EXISTS (SELECT 1 FROM began b WHERE b.code = e.code)
)
SELECT c.*, count(*) OVER () AS total FROM changes c ORDER BY c.code, c.version LIMIT :limit OFFSET :offset
