ALTER TABLE "stay_cells" ADD COLUMN "shard" smallint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "stay_cells" DROP CONSTRAINT "stay_cells_pk";
--> statement-breakpoint
ALTER TABLE "stay_cells" ADD CONSTRAINT "stay_cells_pk" PRIMARY KEY("tenant_id","process_id","stage_id","days","shard");
--> statement-breakpoint
-- Moves out of one stage land in one stay cell (days to 0.01), so concurrent moves queued
-- on that row until each commit. Each backend now writes its own stripe of the cell
-- (pid mod 16); readers sum the stripes. Any stripe is correct: counts only add up.
--> statement-breakpoint
CREATE OR REPLACE FUNCTION sp_stay_cells_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stay_cells AS c (tenant_id, process_id, stage_id, days, shard, n)
  SELECT tenant_id, process_id, from_stage_id, round(days_spent::numeric, 2), pg_backend_pid() % 16, 1 * count(*)
  FROM new_rows
  WHERE from_stage_id IS NOT NULL AND days_spent IS NOT NULL AND action <> 'migrate'
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT ON CONSTRAINT stay_cells_pk DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION sp_stay_cells_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stay_cells AS c (tenant_id, process_id, stage_id, days, shard, n)
  SELECT tenant_id, process_id, from_stage_id, round(days_spent::numeric, 2), pg_backend_pid() % 16, -1 * count(*)
  FROM old_rows
  WHERE from_stage_id IS NOT NULL AND days_spent IS NOT NULL AND action <> 'migrate'
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT ON CONSTRAINT stay_cells_pk DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- The funnel triggers computed each row's key through sp_funnel_delta, a SQL function
-- planned anew for every row: most of a move's cost. The same expressions, inline.
--> statement-breakpoint
CREATE OR REPLACE FUNCTION sp_funnel_cells_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO funnel_cells AS c
  SELECT tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, created_month, department_id, owner_id, sum(n), sum(amount), sum(won_days)
  FROM (
    SELECT r.tenant_id, r.process_id, r.process_version, r.status, r.phase, coalesce(r.stage_id, ''), r.max_stage_index,
      coalesce(to_char(r.expected_close_date, 'YYYY-MM'), ''), to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM'), coalesce(r.department_id, ''), r.owner_id,
      1::bigint, r.amount, CASE WHEN r.status = 'won' AND r.closed_at IS NOT NULL THEN (extract(epoch FROM (r.closed_at - r.created_at)) / 86400) ELSE 0 END
    FROM new_rows r
  ) d (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, created_month, department_id, owner_id, n, amount, won_days)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
  HAVING sum(n) <> 0 OR sum(amount) <> 0 OR sum(won_days) <> 0
  ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
  ON CONFLICT ON CONSTRAINT funnel_cells_pk DO UPDATE SET n = c.n + excluded.n, amount = c.amount + excluded.amount, won_days = c.won_days + excluded.won_days;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION sp_funnel_cells_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO funnel_cells AS c
  SELECT tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, created_month, department_id, owner_id, sum(n), sum(amount), sum(won_days)
  FROM (
    SELECT r.tenant_id, r.process_id, r.process_version, r.status, r.phase, coalesce(r.stage_id, ''), r.max_stage_index,
      coalesce(to_char(r.expected_close_date, 'YYYY-MM'), ''), to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM'), coalesce(r.department_id, ''), r.owner_id,
      1::bigint, r.amount, CASE WHEN r.status = 'won' AND r.closed_at IS NOT NULL THEN (extract(epoch FROM (r.closed_at - r.created_at)) / 86400) ELSE 0 END
    FROM new_rows r
    UNION ALL
    SELECT r.tenant_id, r.process_id, r.process_version, r.status, r.phase, coalesce(r.stage_id, ''), r.max_stage_index,
      coalesce(to_char(r.expected_close_date, 'YYYY-MM'), ''), to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM'), coalesce(r.department_id, ''), r.owner_id,
      -1::bigint, -r.amount, CASE WHEN r.status = 'won' AND r.closed_at IS NOT NULL THEN -(extract(epoch FROM (r.closed_at - r.created_at)) / 86400) ELSE 0 END
    FROM old_rows r
  ) d (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, created_month, department_id, owner_id, n, amount, won_days)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
  HAVING sum(n) <> 0 OR sum(amount) <> 0 OR sum(won_days) <> 0
  ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
  ON CONFLICT ON CONSTRAINT funnel_cells_pk DO UPDATE SET n = c.n + excluded.n, amount = c.amount + excluded.amount, won_days = c.won_days + excluded.won_days;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION sp_funnel_cells_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO funnel_cells AS c
  SELECT tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, created_month, department_id, owner_id, sum(n), sum(amount), sum(won_days)
  FROM (
    SELECT r.tenant_id, r.process_id, r.process_version, r.status, r.phase, coalesce(r.stage_id, ''), r.max_stage_index,
      coalesce(to_char(r.expected_close_date, 'YYYY-MM'), ''), to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM'), coalesce(r.department_id, ''), r.owner_id,
      -1::bigint, -r.amount, CASE WHEN r.status = 'won' AND r.closed_at IS NOT NULL THEN -(extract(epoch FROM (r.closed_at - r.created_at)) / 86400) ELSE 0 END
    FROM old_rows r
  ) d (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, created_month, department_id, owner_id, n, amount, won_days)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
  HAVING sum(n) <> 0 OR sum(amount) <> 0 OR sum(won_days) <> 0
  ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
  ON CONFLICT ON CONSTRAINT funnel_cells_pk DO UPDATE SET n = c.n + excluded.n, amount = c.amount + excluded.amount, won_days = c.won_days + excluded.won_days;
  RETURN NULL;
END $$;
--> statement-breakpoint
DROP FUNCTION sp_funnel_delta(opportunities, int);
