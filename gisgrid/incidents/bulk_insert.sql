-- Insert the assigned rows (in file order) with their first timeline event; an ext_id that another
-- transaction inserted meanwhile is skipped, not an error. Returns the number inserted.
WITH inserted AS (
    INSERT INTO incident (
        ext_id, category_code, title, description, channel, status, level, reported_at, geom,
        input_crs, input_lon, input_lat, grid_unit_id, micro_code, general_code, community_code,
        subdistrict_code, compound_id, address, created_by, step_started_at, step_due_at, version)
    SELECT s.ext_id, s.category_code, s.title, s.description, s.channel, 'reported', 'micro', s.reported_at,
           s.geom, s.input_crs, s.input_lon, s.input_lat, a.grid_unit_id, a.micro_code, a.general_code,
           a.community_code, a.subdistrict_code, a.compound_id, s.address, :actor, s.reported_at,
           s.reported_at + make_interval(secs => (c.step_hours ->> :step)::float8 * 3600), 1
      FROM bulk_staging s
      JOIN bulk_assigned a ON a.row_no = s.row_no
      JOIN incident_category c ON c.code = s.category_code
     ORDER BY s.row_no
    ON CONFLICT (ext_id) DO NOTHING
    RETURNING id, reported_at, channel
), events AS (
    INSERT INTO incident_event (incident_id, at, actor, role, action, to_status, detail)
    SELECT i.id, i.reported_at, :actor, :role, 'create', 'reported',
           jsonb_build_object('channel', i.channel, 'recorded_at', CAST(:now AS text), 'import', :file)
      FROM inserted i
    RETURNING 1
)
SELECT count(*) FROM inserted
