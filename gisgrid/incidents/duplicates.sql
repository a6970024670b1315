-- Possible duplicates of a new report: open incidents (not closed, not rejected) of the same category family
-- (the category itself, its parent, its subcategories; siblings are different problems) within the category's
-- duplicate radius (metres on the geography) and reported in the category's window before :at.
WITH c AS (
    SELECT code, parent_code, duplicate_radius_m AS r, duplicate_window_h AS w
      FROM incident_category WHERE code = :category
),
p AS (
    SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g
)
SELECT i.id, i.ext_id, i.title, i.status, i.category_code, i.reported_at, i.micro_code,
       round(ST_Distance(i.geom::geography, p.g::geography)::numeric, 1) AS distance_m,
       c.r AS radius_m, c.w AS window_h
  FROM incident i, c, p
 WHERE i.status NOT IN ('closed', 'rejected')
   AND (i.category_code = c.code OR i.category_code = c.parent_code
        OR i.category_code IN (SELECT s.code FROM incident_category s WHERE s.parent_code = c.code))
   AND i.reported_at <= :at
   AND i.reported_at >= :at - make_interval(secs => c.w * 3600)
   -- The index box: metres to degrees, widened in longitude by 1/cos(lat).
   AND i.geom && ST_Expand(p.g, (c.r + 1) / (111000.0 * greatest(cos(radians(:lat)), 0.1)))
   AND ST_DWithin(i.geom::geography, p.g::geography, c.r)
   AND (CAST(:exclude AS bigint) IS NULL OR i.id <> CAST(:exclude AS bigint))
   -- Only incidents the caller may see (gisgrid.incidents.visibility): NULL = all, else LIKE patterns.
   AND (CAST(:visible AS text[]) IS NULL OR i.micro_code LIKE ANY (CAST(:visible AS text[])))
 ORDER BY distance_m, i.reported_at DESC, i.id
 LIMIT :limit
