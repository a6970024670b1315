-- The valid rows of one import, in WGS 84, for the length of the transaction. The point is computed while
-- COPY writes each row (a stored generated column), so no UPDATE pass over the table is needed. row_no is
-- unique by construction (the file's row numbers); no key is kept up during COPY.
CREATE TEMP TABLE bulk_staging (
    row_no        integer NOT NULL,
    ext_id        text NOT NULL,
    category_code text NOT NULL,
    title         text NOT NULL,
    description   text,
    channel       text NOT NULL,
    address       text,
    input_crs     text NOT NULL,
    input_lon     float8,
    input_lat     float8,
    lon           float8 NOT NULL,
    lat           float8 NOT NULL,
    reported_at   timestamptz NOT NULL,
    geom          geometry(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED
) ON COMMIT DROP
