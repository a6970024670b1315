"""Long runs outside the request: a persistent job queue (procrastinate on our PostgreSQL) and its worker.

`submit()` records a job and enqueues it in the caller's transaction; a worker (in the app's lifespan or
`gisgrid jobs worker`) runs it, reporting progress, result or error in the `job` table that people see.
"""
