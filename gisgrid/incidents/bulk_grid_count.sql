-- How many micro-grid generations were in force at some time between the first and the last staged report.
SELECT count(*)
  FROM grid_unit u
 WHERE u.level = 'micro'
   AND u.valid_from <= CAST(:last_at AS timestamptz)
   AND coalesce(u.valid_to, 'infinity') > CAST(:first_at AS timestamptz)
