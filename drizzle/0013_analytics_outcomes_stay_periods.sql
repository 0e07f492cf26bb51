CREATE TABLE "outcome_cells" (
	"tenant_id" text NOT NULL,
	"process_id" text NOT NULL,
	"closed_month" text NOT NULL,
	"status" text NOT NULL,
	"stage_id" text NOT NULL,
	"lost_reason" text NOT NULL,
	"currency" text NOT NULL,
	"department_id" text NOT NULL,
	"owner_id" text NOT NULL,
	"n" bigint NOT NULL,
	"amount" numeric NOT NULL,
	CONSTRAINT "outcome_cells_pk" PRIMARY KEY("tenant_id","process_id","closed_month","status","stage_id","lost_reason","currency","department_id","owner_id")
);
--> statement-breakpoint
CREATE TABLE "stay_period_cells" (
	"tenant_id" text NOT NULL,
	"process_id" text NOT NULL,
	"created_month" text NOT NULL,
	"department_id" text NOT NULL,
	"stage_id" text NOT NULL,
	"days" numeric(12, 2) NOT NULL,
	"shard" smallint DEFAULT 0 NOT NULL,
	"n" bigint NOT NULL,
	CONSTRAINT "stay_period_cells_pk" PRIMARY KEY("tenant_id","process_id","created_month","department_id","stage_id","days","shard")
);
--> statement-breakpoint
CREATE INDEX "funnel_cells_period" ON "funnel_cells" USING btree ("tenant_id","process_id","created_month","department_id");--> statement-breakpoint
-- Issue 21's analytics from rollups, like the funnel's (drizzle/0003, 0012): win/loss by close
-- month, outcome, stage lost from and lost reason (outcome_cells), and days in stage under the
-- funnel's department and whole-month filters (stay_period_cells: the stays of drizzle/0003
-- keyed also by their opportunity's creation month and department). Both are rebuilt from the
-- rows below; writers wait until this commits, so none lands between rebuild and triggers.
LOCK TABLE "opportunities" IN SHARE ROW EXCLUSIVE MODE;
--> statement-breakpoint
LOCK TABLE "stage_history" IN SHARE ROW EXCLUSIVE MODE;
--> statement-breakpoint
-- The funnel's opportunity triggers (drizzle/0012) also add each statement's net change to
-- outcome_cells: closed rows only, so a stage move (open before and after) adds nothing. The
-- update trigger also moves the stays of an opportunity that changes department (a
-- reassignment) between stay_period_cells' cells; the check costs a move a join of its one
-- old and one new row.
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
-- Stays: the stripes of drizzle/0004, and the same stays by their opportunity's creation month
-- and department, looked up by its primary key (LIMIT 1 keeps it a lookup per row). When the
-- opportunity is gone (a cascade from its deletion), the row trigger below has taken its stays
-- out already.
CREATE OR REPLACE FUNCTION sp_stay_cells_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stay_cells AS c (tenant_id, process_id, stage_id, days, shard, n)
  SELECT tenant_id, process_id, from_stage_id, round(days_spent::numeric, 2), pg_backend_pid() % 16, 1 * count(*)
  FROM new_rows
  WHERE from_stage_id IS NOT NULL AND days_spent IS NOT NULL AND action <> 'migrate'
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT ON CONSTRAINT stay_cells_pk DO UPDATE SET n = c.n + excluded.n;
  INSERT INTO stay_period_cells AS c (tenant_id, process_id, created_month, department_id, stage_id, days, shard, n)
  SELECT h.tenant_id, h.process_id, o.created_month, o.department_id, h.from_stage_id, round(h.days_spent::numeric, 2), pg_backend_pid() % 16, 1 * count(*)
  FROM new_rows h
  CROSS JOIN LATERAL (SELECT to_char(x.created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS created_month, coalesce(x.department_id, '') AS department_id
                      FROM opportunities x WHERE x.id = h.opportunity_id LIMIT 1) o
  WHERE h.from_stage_id IS NOT NULL AND h.days_spent IS NOT NULL AND h.action <> 'migrate'
  GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
  ON CONFLICT ON CONSTRAINT stay_period_cells_pk DO UPDATE SET n = c.n + excluded.n;
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
  INSERT INTO stay_period_cells AS c (tenant_id, process_id, created_month, department_id, stage_id, days, shard, n)
  SELECT h.tenant_id, h.process_id, o.created_month, o.department_id, h.from_stage_id, round(h.days_spent::numeric, 2), pg_backend_pid() % 16, -1 * count(*)
  FROM old_rows h
  CROSS JOIN LATERAL (SELECT to_char(x.created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS created_month, coalesce(x.department_id, '') AS department_id
                      FROM opportunities x WHERE x.id = h.opportunity_id LIMIT 1) o
  WHERE h.from_stage_id IS NOT NULL AND h.days_spent IS NOT NULL AND h.action <> 'migrate'
  GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
  ON CONFLICT ON CONSTRAINT stay_period_cells_pk DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- An opportunity's deletion takes its stays out of stay_period_cells before its history goes
-- with it (the cascade runs after the row is gone, when the stay trigger can no longer see
-- its month and department). Deletes only: moves never pay for it.
CREATE FUNCTION sp_stay_period_cells_opportunity_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stay_period_cells AS c (tenant_id, process_id, created_month, department_id, stage_id, days, shard, n)
  SELECT h.tenant_id, h.process_id, to_char(OLD.created_at AT TIME ZONE 'UTC', 'YYYY-MM'), coalesce(OLD.department_id, ''), h.from_stage_id,
    round(h.days_spent::numeric, 2), pg_backend_pid() % 16, -1 * count(*)
  FROM stage_history h
  WHERE h.opportunity_id = OLD.id AND h.from_stage_id IS NOT NULL AND h.days_spent IS NOT NULL AND h.action <> 'migrate'
  GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
  ON CONFLICT ON CONSTRAINT stay_period_cells_pk DO UPDATE SET n = c.n + excluded.n;
  RETURN OLD;
END $$;
--> statement-breakpoint
CREATE TRIGGER stay_period_cells_opportunity_delete BEFORE DELETE ON opportunities FOR EACH ROW EXECUTE FUNCTION sp_stay_period_cells_opportunity_delete();
--> statement-breakpoint
-- The existing rows, once, as the triggers would have added them.
INSERT INTO outcome_cells (tenant_id, process_id, closed_month, status, stage_id, lost_reason, currency, department_id, owner_id, n, amount)
  SELECT o.tenant_id, o.process_id, to_char(o.closed_at AT TIME ZONE 'UTC', 'YYYY-MM'), o.status,
    CASE WHEN o.status = 'won' THEN '' ELSE coalesce(o.stage_id, '') END, CASE WHEN o.status = 'lost' THEN coalesce(o.lost_reason, '') ELSE '' END,
    o.currency, coalesce(o.department_id, ''), o.owner_id, count(*), sum(o.amount)
  FROM opportunities o
  WHERE o.status <> 'open' AND o.closed_at IS NOT NULL
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
--> statement-breakpoint
INSERT INTO stay_period_cells (tenant_id, process_id, created_month, department_id, stage_id, days, shard, n)
  SELECT h.tenant_id, h.process_id, to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM'), coalesce(o.department_id, ''), h.from_stage_id,
    round(h.days_spent::numeric, 2), 0, count(*)
  FROM stage_history h JOIN opportunities o ON o.id = h.opportunity_id
  WHERE h.from_stage_id IS NOT NULL AND h.days_spent IS NOT NULL AND h.action <> 'migrate'
  GROUP BY 1, 2, 3, 4, 5, 6;
--> statement-breakpoint
ANALYZE "outcome_cells";
--> statement-breakpoint
ANALYZE "stay_period_cells";
--> statement-breakpoint
ANALYZE "funnel_cells";
