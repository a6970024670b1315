-- Locate one WGS 84 point: candidate micro-grids in force at :at within :acc metres, the grid path, workers,
-- compound and building, and the nearest service sites along the walking network. One round trip.
WITH p AS (
    SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g
),
cand AS (
    SELECT u.id, u.code, u.name, u.parent_code, ST_Covers(u.geom, p.g) AS covers,
           ST_Distance(u.geom::geography, p.g::geography) AS distance_m
      FROM grid_unit u, p
     WHERE u.level = 'micro' AND u.valid_from <= :at AND (u.valid_to IS NULL OR u.valid_to > :at)
       AND u.geom && ST_Expand(p.g, :acc_deg)
       AND ST_DWithin(u.geom::geography, p.g::geography, :acc)
),
owner AS (
    -- A point on a shared edge is covered by both neighbours: the smallest code owns it (documented rule).
    SELECT * FROM cand WHERE covers ORDER BY code LIMIT 1
),
path AS (
    WITH RECURSIVE up AS (
        SELECT u.code, u.level, u.name, u.parent_code, u.id, u.version, u.generation_id, 0 AS depth
          FROM grid_unit u JOIN owner o ON o.id = u.id
        UNION ALL
        SELECT g.code, g.level, g.name, g.parent_code, g.id, g.version, g.generation_id, up.depth + 1
          FROM up JOIN grid_unit g ON g.code = up.parent_code
         WHERE g.valid_from <= :at AND (g.valid_to IS NULL OR g.valid_to > :at)
    )
    SELECT * FROM up
),
workers AS (
    SELECT w.name, w.role, w.title, w.phone, wg.grid_code
      FROM path JOIN worker_grid wg ON wg.grid_code = path.code JOIN worker w ON w.id = wg.worker_id
     WHERE (path.level, w.role) IN (('micro', 'micro_grid_worker'), ('general', 'grid_worker'),
                                    ('community', 'community_head'))
),
node AS (
    -- The nearest network node that is reached without crossing a river (a river without a bridge is a wall).
    SELECT n.id, ST_Distance(n.geom::geography, p.g::geography) AS to_node_m
      FROM p CROSS JOIN LATERAL (SELECT id, geom FROM walk_node ORDER BY geom <-> p.g LIMIT 8) n
     WHERE NOT EXISTS (SELECT 1 FROM river r WHERE r.geom && ST_MakeLine(p.g, n.geom)
                                               AND ST_Intersects(r.geom, ST_MakeLine(p.g, n.geom)))
     ORDER BY n.geom <-> p.g LIMIT 1
),
sites AS (
    SELECT a.rank, s.ext_id, s.kind, s.name, s.brand, s.opening_hours, s.address,
           round((a.distance_m + node.to_node_m)::numeric, 1) AS walk_m,
           round(ST_Distance(s.geom::geography, p.g::geography)::numeric, 1) AS straight_m,
           ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat
      FROM node JOIN walk_site_access a ON a.node_id = node.id JOIN service_site s ON s.id = a.site_id, p
)
SELECT
    (SELECT coalesce(json_agg(json_build_object('code', code, 'name', name, 'covers', covers,
                                                'distance_m', round(distance_m::numeric, 2)) ORDER BY code), '[]')
       FROM cand) AS candidates,
    (SELECT coalesce(json_agg(json_build_object('level', level, 'code', code, 'name', name, 'id', id,
                                                'version', version, 'generation_id', generation_id)
                              ORDER BY depth DESC), '[]') FROM path) AS path,
    (SELECT coalesce(json_agg(json_build_object('name', name, 'role', role, 'title', title, 'phone', phone,
                                                'grid_code', grid_code) ORDER BY grid_code DESC, name), '[]')
       FROM workers) AS workers,
    (SELECT json_build_object('id', c.ext_id, 'name', c.name) FROM compound c, p
      WHERE c.geom && p.g AND ST_Covers(c.geom, p.g) ORDER BY c.ext_id LIMIT 1) AS compound,
    (SELECT json_build_object('id', b.ext_id, 'label', b.label) FROM building b, p
      WHERE b.geom && p.g AND ST_Covers(b.geom, p.g) ORDER BY b.ext_id LIMIT 1) AS building,
    (SELECT coalesce(json_agg(json_build_object('rank', rank, 'id', ext_id, 'kind', kind, 'name', name,
                                                'brand', brand, 'opening_hours', opening_hours,
                                                'address', address, 'walk_m', walk_m, 'straight_m', straight_m,
                                                'lon', lon, 'lat', lat) ORDER BY rank), '[]')
       FROM sites) AS sites
