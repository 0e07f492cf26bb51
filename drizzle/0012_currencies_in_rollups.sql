-- Amounts keep their currency (issue 20): the funnel's rollup adds currency to its key and
-- the funnel converts each cell's sum at the rate recorded when it reads (a rate that
-- changes needs no rebuild). The rollup is rebuilt from the opportunities; writers to them
-- wait until this commits, so no write lands between the rebuild and the new triggers.
LOCK TABLE "opportunities" IN SHARE ROW EXCLUSIVE MODE;
--> statement-breakpoint
TRUNCATE "funnel_cells";
--> statement-breakpoint
ALTER TABLE "funnel_cells" ADD COLUMN "currency" text NOT NULL;--> statement-breakpoint
ALTER TABLE "funnel_cells" DROP CONSTRAINT "funnel_cells_pk";
--> statement-breakpoint
ALTER TABLE "funnel_cells" ADD CONSTRAINT "funnel_cells_pk" PRIMARY KEY("tenant_id","process_id","process_version","status","phase","stage_id","max_stage_index","close_month","currency","created_month","department_id","owner_id");
--> statement-breakpoint
-- The triggers of drizzle/0004 with the currency in the key; columns named, since the new
-- column sits last in the table and ninth in the key.
CREATE OR REPLACE FUNCTION sp_funnel_cells_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO funnel_cells AS c (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, department_id, owner_id, n, amount, won_days)
  SELECT tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, department_id, owner_id, sum(n), sum(amount), sum(won_days)
  FROM (
    SELECT r.tenant_id, r.process_id, r.process_version, r.status, r.phase, coalesce(r.stage_id, ''), r.max_stage_index,
      coalesce(to_char(r.expected_close_date, 'YYYY-MM'), ''), r.currency, to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM'), coalesce(r.department_id, ''), r.owner_id,
      1::bigint, r.amount, CASE WHEN r.status = 'won' AND r.closed_at IS NOT NULL THEN (extract(epoch FROM (r.closed_at - r.created_at)) / 86400) ELSE 0 END
    FROM new_rows r
  ) d (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, department_id, owner_id, n, amount, won_days)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
  HAVING sum(n) <> 0 OR sum(amount) <> 0 OR sum(won_days) <> 0
  ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
  ON CONFLICT ON CONSTRAINT funnel_cells_pk DO UPDATE SET n = c.n + excluded.n, amount = c.amount + excluded.amount, won_days = c.won_days + excluded.won_days;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION sp_funnel_cells_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO funnel_cells AS c (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, department_id, owner_id, n, amount, won_days)
  SELECT tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, department_id, owner_id, sum(n), sum(amount), sum(won_days)
  FROM (
    SELECT r.tenant_id, r.process_id, r.process_version, r.status, r.phase, coalesce(r.stage_id, ''), r.max_stage_index,
      coalesce(to_char(r.expected_close_date, 'YYYY-MM'), ''), r.currency, to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM'), coalesce(r.department_id, ''), r.owner_id,
      1::bigint, r.amount, CASE WHEN r.status = 'won' AND r.closed_at IS NOT NULL THEN (extract(epoch FROM (r.closed_at - r.created_at)) / 86400) ELSE 0 END
    FROM new_rows r
    UNION ALL
    SELECT r.tenant_id, r.process_id, r.process_version, r.status, r.phase, coalesce(r.stage_id, ''), r.max_stage_index,
      coalesce(to_char(r.expected_close_date, 'YYYY-MM'), ''), r.currency, to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM'), coalesce(r.department_id, ''), r.owner_id,
      -1::bigint, -r.amount, CASE WHEN r.status = 'won' AND r.closed_at IS NOT NULL THEN -(extract(epoch FROM (r.closed_at - r.created_at)) / 86400) ELSE 0 END
    FROM old_rows r
  ) d (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, department_id, owner_id, n, amount, won_days)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
  HAVING sum(n) <> 0 OR sum(amount) <> 0 OR sum(won_days) <> 0
  ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
  ON CONFLICT ON CONSTRAINT funnel_cells_pk DO UPDATE SET n = c.n + excluded.n, amount = c.amount + excluded.amount, won_days = c.won_days + excluded.won_days;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION sp_funnel_cells_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO funnel_cells AS c (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, department_id, owner_id, n, amount, won_days)
  SELECT tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, department_id, owner_id, sum(n), sum(amount), sum(won_days)
  FROM (
    SELECT r.tenant_id, r.process_id, r.process_version, r.status, r.phase, coalesce(r.stage_id, ''), r.max_stage_index,
      coalesce(to_char(r.expected_close_date, 'YYYY-MM'), ''), r.currency, to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM'), coalesce(r.department_id, ''), r.owner_id,
      -1::bigint, -r.amount, CASE WHEN r.status = 'won' AND r.closed_at IS NOT NULL THEN -(extract(epoch FROM (r.closed_at - r.created_at)) / 86400) ELSE 0 END
    FROM old_rows r
  ) d (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, department_id, owner_id, n, amount, won_days)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
  HAVING sum(n) <> 0 OR sum(amount) <> 0 OR sum(won_days) <> 0
  ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
  ON CONFLICT ON CONSTRAINT funnel_cells_pk DO UPDATE SET n = c.n + excluded.n, amount = c.amount + excluded.amount, won_days = c.won_days + excluded.won_days;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- The existing opportunities, once, as the triggers would have added them.
INSERT INTO funnel_cells (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, department_id, owner_id, n, amount, won_days)
  SELECT o.tenant_id, o.process_id, o.process_version, o.status, o.phase, coalesce(o.stage_id, ''), o.max_stage_index,
    coalesce(to_char(o.expected_close_date, 'YYYY-MM'), ''), o.currency, to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM'), coalesce(o.department_id, ''), o.owner_id,
    count(*), sum(o.amount),
    coalesce(sum(extract(epoch FROM (o.closed_at - o.created_at)) / 86400) FILTER (WHERE o.status = 'won' AND o.closed_at IS NOT NULL), 0)
  FROM opportunities o
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;
