CREATE TABLE "funnel_process_cells" (
	"tenant_id" text NOT NULL,
	"process_id" text NOT NULL,
	"process_version" integer NOT NULL,
	"status" text NOT NULL,
	"phase" text NOT NULL,
	"stage_id" text NOT NULL,
	"max_stage_index" integer NOT NULL,
	"close_month" text NOT NULL,
	"currency" text NOT NULL,
	"created_month" text NOT NULL,
	"shard" smallint DEFAULT 0 NOT NULL,
	"n" bigint NOT NULL,
	"amount" numeric NOT NULL,
	"won_days" numeric NOT NULL,
	CONSTRAINT "funnel_process_cells_pk" PRIMARY KEY("tenant_id","process_id","process_version","status","phase","stage_id","max_stage_index","close_month","currency","created_month","shard")
);
--> statement-breakpoint
-- Issue 22: the whole process's funnel (and a period's, without department or owner) from
-- funnel_process_cells, the funnel's cells summed over department and owner, a few thousand
-- rows per process whatever the data size (funnel_cells holds ~77,000 per process at 10 M
-- opportunities). The funnel's opportunity triggers (drizzle/0013) add each statement's net
-- change to it as well, striped by backend like stay_cells, since every owner's moves land on
-- its cells. Built from funnel_cells; writers wait until this commits, so none lands between
-- the rebuild and the new triggers.
LOCK TABLE "opportunities" IN SHARE ROW EXCLUSIVE MODE;
--> statement-breakpoint
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
  INSERT INTO funnel_process_cells AS c (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, shard, n, amount, won_days)
  SELECT tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, pg_backend_pid() % 16, sum(n), sum(amount), sum(won_days)
  FROM (
    SELECT r.tenant_id, r.process_id, r.process_version, r.status, r.phase, coalesce(r.stage_id, ''), r.max_stage_index,
      coalesce(to_char(r.expected_close_date, 'YYYY-MM'), ''), r.currency, to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM'),
      1::bigint, r.amount, CASE WHEN r.status = 'won' AND r.closed_at IS NOT NULL THEN (extract(epoch FROM (r.closed_at - r.created_at)) / 86400) ELSE 0 END
    FROM new_rows r
  ) d (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, n, amount, won_days)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
  HAVING sum(n) <> 0 OR sum(amount) <> 0 OR sum(won_days) <> 0
  ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
  ON CONFLICT ON CONSTRAINT funnel_process_cells_pk DO UPDATE SET n = c.n + excluded.n, amount = c.amount + excluded.amount, won_days = c.won_days + excluded.won_days;
  INSERT INTO outcome_cells AS c (tenant_id, process_id, closed_month, status, stage_id, lost_reason, currency, department_id, owner_id, n, amount)
  SELECT tenant_id, process_id, closed_month, status, stage_id, lost_reason, currency, department_id, owner_id, sum(n), sum(amount)
  FROM (
    SELECT r.tenant_id, r.process_id, to_char(r.closed_at AT TIME ZONE 'UTC', 'YYYY-MM'), r.status,
      CASE WHEN r.status = 'won' THEN '' ELSE coalesce(r.stage_id, '') END, CASE WHEN r.status = 'lost' THEN coalesce(r.lost_reason, '') ELSE '' END,
      r.currency, coalesce(r.department_id, ''), r.owner_id, 1::bigint, r.amount
    FROM new_rows r WHERE r.status <> 'open' AND r.closed_at IS NOT NULL
  ) d (tenant_id, process_id, closed_month, status, stage_id, lost_reason, currency, department_id, owner_id, n, amount)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
  HAVING sum(n) <> 0 OR sum(amount) <> 0
  ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9
  ON CONFLICT ON CONSTRAINT outcome_cells_pk DO UPDATE SET n = c.n + excluded.n, amount = c.amount + excluded.amount;
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
  INSERT INTO funnel_process_cells AS c (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, shard, n, amount, won_days)
  SELECT tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, pg_backend_pid() % 16, sum(n), sum(amount), sum(won_days)
  FROM (
    SELECT r.tenant_id, r.process_id, r.process_version, r.status, r.phase, coalesce(r.stage_id, ''), r.max_stage_index,
      coalesce(to_char(r.expected_close_date, 'YYYY-MM'), ''), r.currency, to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM'),
      1::bigint, r.amount, CASE WHEN r.status = 'won' AND r.closed_at IS NOT NULL THEN (extract(epoch FROM (r.closed_at - r.created_at)) / 86400) ELSE 0 END
    FROM new_rows r
    UNION ALL
    SELECT r.tenant_id, r.process_id, r.process_version, r.status, r.phase, coalesce(r.stage_id, ''), r.max_stage_index,
      coalesce(to_char(r.expected_close_date, 'YYYY-MM'), ''), r.currency, to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM'),
      -1::bigint, -r.amount, CASE WHEN r.status = 'won' AND r.closed_at IS NOT NULL THEN -(extract(epoch FROM (r.closed_at - r.created_at)) / 86400) ELSE 0 END
    FROM old_rows r
  ) d (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, n, amount, won_days)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
  HAVING sum(n) <> 0 OR sum(amount) <> 0 OR sum(won_days) <> 0
  ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
  ON CONFLICT ON CONSTRAINT funnel_process_cells_pk DO UPDATE SET n = c.n + excluded.n, amount = c.amount + excluded.amount, won_days = c.won_days + excluded.won_days;
  INSERT INTO outcome_cells AS c (tenant_id, process_id, closed_month, status, stage_id, lost_reason, currency, department_id, owner_id, n, amount)
  SELECT tenant_id, process_id, closed_month, status, stage_id, lost_reason, currency, department_id, owner_id, sum(n), sum(amount)
  FROM (
    SELECT r.tenant_id, r.process_id, to_char(r.closed_at AT TIME ZONE 'UTC', 'YYYY-MM'), r.status,
      CASE WHEN r.status = 'won' THEN '' ELSE coalesce(r.stage_id, '') END, CASE WHEN r.status = 'lost' THEN coalesce(r.lost_reason, '') ELSE '' END,
      r.currency, coalesce(r.department_id, ''), r.owner_id, 1::bigint, r.amount
    FROM new_rows r WHERE r.status <> 'open' AND r.closed_at IS NOT NULL
    UNION ALL
    SELECT r.tenant_id, r.process_id, to_char(r.closed_at AT TIME ZONE 'UTC', 'YYYY-MM'), r.status,
      CASE WHEN r.status = 'won' THEN '' ELSE coalesce(r.stage_id, '') END, CASE WHEN r.status = 'lost' THEN coalesce(r.lost_reason, '') ELSE '' END,
      r.currency, coalesce(r.department_id, ''), r.owner_id, -1::bigint, -r.amount
    FROM old_rows r WHERE r.status <> 'open' AND r.closed_at IS NOT NULL
  ) d (tenant_id, process_id, closed_month, status, stage_id, lost_reason, currency, department_id, owner_id, n, amount)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
  HAVING sum(n) <> 0 OR sum(amount) <> 0
  ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9
  ON CONFLICT ON CONSTRAINT outcome_cells_pk DO UPDATE SET n = c.n + excluded.n, amount = c.amount + excluded.amount;
  IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE n.department_id IS DISTINCT FROM o.department_id OR n.created_at IS DISTINCT FROM o.created_at) THEN
    -- The history rows are found through their opportunity's index (OFFSET 0 keeps the
    -- lateral lookup from being planned as a scan of the whole history, whatever the size
    -- of the first statement this plan was made for).
    INSERT INTO stay_period_cells AS c (tenant_id, process_id, created_month, department_id, stage_id, days, shard, n)
    SELECT h.tenant_id, h.process_id, d.created_month, d.department_id, h.from_stage_id, round(h.days_spent::numeric, 2), pg_backend_pid() % 16, sum(d.sign)
    FROM (
      SELECT n.id, to_char(n.created_at AT TIME ZONE 'UTC', 'YYYY-MM'), coalesce(n.department_id, ''), 1
      FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE n.department_id IS DISTINCT FROM o.department_id OR n.created_at IS DISTINCT FROM o.created_at
      UNION ALL
      SELECT o.id, to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM'), coalesce(o.department_id, ''), -1
      FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE n.department_id IS DISTINCT FROM o.department_id OR n.created_at IS DISTINCT FROM o.created_at
    ) d (id, created_month, department_id, sign)
    CROSS JOIN LATERAL (SELECT * FROM stage_history x WHERE x.opportunity_id = d.id OFFSET 0) h
    WHERE h.from_stage_id IS NOT NULL AND h.days_spent IS NOT NULL AND h.action <> 'migrate'
    GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(d.sign) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT ON CONSTRAINT stay_period_cells_pk DO UPDATE SET n = c.n + excluded.n;
  END IF;
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
  INSERT INTO funnel_process_cells AS c (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, shard, n, amount, won_days)
  SELECT tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, pg_backend_pid() % 16, sum(n), sum(amount), sum(won_days)
  FROM (
    SELECT r.tenant_id, r.process_id, r.process_version, r.status, r.phase, coalesce(r.stage_id, ''), r.max_stage_index,
      coalesce(to_char(r.expected_close_date, 'YYYY-MM'), ''), r.currency, to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM'),
      -1::bigint, -r.amount, CASE WHEN r.status = 'won' AND r.closed_at IS NOT NULL THEN -(extract(epoch FROM (r.closed_at - r.created_at)) / 86400) ELSE 0 END
    FROM old_rows r
  ) d (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, n, amount, won_days)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
  HAVING sum(n) <> 0 OR sum(amount) <> 0 OR sum(won_days) <> 0
  ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
  ON CONFLICT ON CONSTRAINT funnel_process_cells_pk DO UPDATE SET n = c.n + excluded.n, amount = c.amount + excluded.amount, won_days = c.won_days + excluded.won_days;
  INSERT INTO outcome_cells AS c (tenant_id, process_id, closed_month, status, stage_id, lost_reason, currency, department_id, owner_id, n, amount)
  SELECT tenant_id, process_id, closed_month, status, stage_id, lost_reason, currency, department_id, owner_id, sum(n), sum(amount)
  FROM (
    SELECT r.tenant_id, r.process_id, to_char(r.closed_at AT TIME ZONE 'UTC', 'YYYY-MM'), r.status,
      CASE WHEN r.status = 'won' THEN '' ELSE coalesce(r.stage_id, '') END, CASE WHEN r.status = 'lost' THEN coalesce(r.lost_reason, '') ELSE '' END,
      r.currency, coalesce(r.department_id, ''), r.owner_id, -1::bigint, -r.amount
    FROM old_rows r WHERE r.status <> 'open' AND r.closed_at IS NOT NULL
  ) d (tenant_id, process_id, closed_month, status, stage_id, lost_reason, currency, department_id, owner_id, n, amount)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
  HAVING sum(n) <> 0 OR sum(amount) <> 0
  ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9
  ON CONFLICT ON CONSTRAINT outcome_cells_pk DO UPDATE SET n = c.n + excluded.n, amount = c.amount + excluded.amount;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- The existing cells, once, summed as the triggers would have added them.
INSERT INTO funnel_process_cells (tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, shard, n, amount, won_days)
  SELECT tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, currency, created_month, 0, sum(n), sum(amount), sum(won_days)
  FROM funnel_cells
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
  HAVING sum(n) <> 0 OR sum(amount) <> 0 OR sum(won_days) <> 0;
--> statement-breakpoint
ANALYZE "funnel_process_cells";
