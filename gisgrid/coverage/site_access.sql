-- For every walking-network node, the nearest service sites along the network (rank 1..:ranks), within :limit_m.
-- One pgr_drivingDistance per site over the edges near it (a box of :limit_m around the site keeps each graph
-- small); the single-source signature's `node` and `agg_cost` columns are the same in pgRouting 3.4 and 3.6+.
WITH site_nodes AS (
    SELECT s.id AS site_id, n.id AS node_id, ST_X(s.geom) AS x, ST_Y(s.geom) AS y,
           ST_Distance(s.geom::geography, n.geom::geography) AS to_node_m
      FROM service_site s
     CROSS JOIN LATERAL (SELECT id, geom FROM walk_node ORDER BY geom <-> s.geom LIMIT 1) n
),
reach AS (
    SELECT sn.site_id, d.node AS node_id, d.agg_cost + sn.to_node_m AS distance_m
      FROM site_nodes sn
     CROSS JOIN LATERAL pgr_drivingDistance(
            format('SELECT id, source, target, length_m AS cost, length_m AS reverse_cost FROM walk_edge '
                   'WHERE geom && ST_Expand(ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s)',
                   sn.x, sn.y, :limit_deg),
            sn.node_id, :limit_m, directed := false) d
),
ranked AS (
    SELECT node_id, site_id, distance_m,
           row_number() OVER (PARTITION BY node_id ORDER BY distance_m, site_id) AS rank
      FROM reach
)
INSERT INTO walk_site_access (node_id, rank, site_id, distance_m)
SELECT node_id, rank, site_id, distance_m FROM ranked WHERE rank <= :ranks
