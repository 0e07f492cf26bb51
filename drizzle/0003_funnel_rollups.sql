CREATE TABLE "funnel_cells" (
	"tenant_id" text NOT NULL,
	"process_id" text NOT NULL,
	"process_version" integer NOT NULL,
	"status" text NOT NULL,
	"phase" text NOT NULL,
	"stage_id" text NOT NULL,
	"max_stage_index" integer NOT NULL,
	"close_month" text NOT NULL,
	"created_month" text NOT NULL,
	"department_id" text NOT NULL,
	"owner_id" text NOT NULL,
	"n" bigint NOT NULL,
	"amount" numeric NOT NULL,
	"won_days" numeric NOT NULL,
	CONSTRAINT "funnel_cells_pk" PRIMARY KEY("tenant_id","process_id","process_version","status","phase","stage_id","max_stage_index","close_month","created_month","department_id","owner_id")
);
--> statement-breakpoint
CREATE TABLE "stay_cells" (
	"tenant_id" text NOT NULL,
	"process_id" text NOT NULL,
	"stage_id" text NOT NULL,
	"days" numeric(12, 2) NOT NULL,
	"n" bigint NOT NULL,
	CONSTRAINT "stay_cells_pk" PRIMARY KEY("tenant_id","process_id","stage_id","days")
);
--> statement-breakpoint
-- The funnel's key of an opportunity row ('' for null), its count sign and sums.
CREATE FUNCTION sp_funnel_delta(o opportunities, sign int, OUT tenant_id text, OUT process_id text, OUT process_version int, OUT status text, OUT phase text,
    OUT stage_id text, OUT max_stage_index int, OUT close_month text, OUT created_month text, OUT department_id text, OUT owner_id text,
    OUT n bigint, OUT amount numeric, OUT won_days numeric)
LANGUAGE sql STABLE AS $$
  SELECT o.tenant_id, o.process_id, o.process_version, o.status, o.phase, coalesce(o.stage_id, ''), o.max_stage_index,
    coalesce(to_char(o.expected_close_date, 'YYYY-MM'), ''), to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM'),
    coalesce(o.department_id, ''), o.owner_id, sign::bigint, sign * o.amount,
    CASE WHEN o.status = 'won' AND o.closed_at IS NOT NULL THEN sign * (extract(epoch FROM (o.closed_at - o.created_at)) / 86400) ELSE 0 END
$$;
--> statement-breakpoint
-- Each trigger adds its statement's net change per cell: cells locked in key order, so
-- concurrent statements cannot deadlock on them, and an update that leaves key and sums
-- alone writes nothing. One function per event (transition tables differ per event), all
-- static SQL so their plans are cached: a move pays for two cell upserts, no planning.
--> statement-breakpoint
CREATE FUNCTION sp_funnel_cells_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO funnel_cells AS c
  SELECT tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, created_month, department_id, owner_id, sum(n), sum(amount), sum(won_days)
  FROM (SELECT d.* FROM new_rows r, sp_funnel_delta(r, 1) d) d
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
  HAVING sum(n) <> 0 OR sum(amount) <> 0 OR sum(won_days) <> 0
  ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
  ON CONFLICT ON CONSTRAINT funnel_cells_pk DO UPDATE SET n = c.n + excluded.n, amount = c.amount + excluded.amount, won_days = c.won_days + excluded.won_days;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION sp_funnel_cells_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO funnel_cells AS c
  SELECT tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, created_month, department_id, owner_id, sum(n), sum(amount), sum(won_days)
  FROM (SELECT d.* FROM new_rows r, sp_funnel_delta(r, 1) d UNION ALL SELECT d.* FROM old_rows r, sp_funnel_delta(r, -1) d) d
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
  HAVING sum(n) <> 0 OR sum(amount) <> 0 OR sum(won_days) <> 0
  ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
  ON CONFLICT ON CONSTRAINT funnel_cells_pk DO UPDATE SET n = c.n + excluded.n, amount = c.amount + excluded.amount, won_days = c.won_days + excluded.won_days;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION sp_funnel_cells_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO funnel_cells AS c
  SELECT tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, created_month, department_id, owner_id, sum(n), sum(amount), sum(won_days)
  FROM (SELECT d.* FROM old_rows r, sp_funnel_delta(r, -1) d) d
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
  HAVING sum(n) <> 0 OR sum(amount) <> 0 OR sum(won_days) <> 0
  ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
  ON CONFLICT ON CONSTRAINT funnel_cells_pk DO UPDATE SET n = c.n + excluded.n, amount = c.amount + excluded.amount, won_days = c.won_days + excluded.won_days;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER funnel_cells_insert AFTER INSERT ON opportunities REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sp_funnel_cells_insert();
--> statement-breakpoint
CREATE TRIGGER funnel_cells_update AFTER UPDATE ON opportunities REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sp_funnel_cells_update();
--> statement-breakpoint
CREATE TRIGGER funnel_cells_delete AFTER DELETE ON opportunities REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sp_funnel_cells_delete();
--> statement-breakpoint
-- Completed stays (what the funnel's days-in-stage figures count), to 0.01 day.
--> statement-breakpoint
CREATE FUNCTION sp_stay_cells_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stay_cells AS c
  SELECT tenant_id, process_id, from_stage_id, round(days_spent::numeric, 2), sum(sign)
  FROM (SELECT r.*, 1 AS sign FROM new_rows r) d
  WHERE from_stage_id IS NOT NULL AND days_spent IS NOT NULL AND action <> 'migrate'
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT ON CONSTRAINT stay_cells_pk DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION sp_stay_cells_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stay_cells AS c
  SELECT tenant_id, process_id, from_stage_id, round(days_spent::numeric, 2), sum(sign)
  FROM (SELECT r.*, -1 AS sign FROM old_rows r) d
  WHERE from_stage_id IS NOT NULL AND days_spent IS NOT NULL AND action <> 'migrate'
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT ON CONSTRAINT stay_cells_pk DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER stay_cells_insert AFTER INSERT ON stage_history REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sp_stay_cells_insert();
--> statement-breakpoint
CREATE TRIGGER stay_cells_delete AFTER DELETE ON stage_history REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sp_stay_cells_delete();
--> statement-breakpoint
-- Existing data, once.
INSERT INTO funnel_cells
  SELECT tenant_id, process_id, process_version, status, phase, stage_id, max_stage_index, close_month, created_month, department_id, owner_id, sum(n), sum(amount), sum(won_days)
  FROM (SELECT d.* FROM opportunities o, sp_funnel_delta(o, 1) d) d
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11;
--> statement-breakpoint
INSERT INTO stay_cells
  SELECT tenant_id, process_id, from_stage_id, round(days_spent::numeric, 2), count(*) FROM stage_history
  WHERE from_stage_id IS NOT NULL AND days_spent IS NOT NULL AND action <> 'migrate'
  GROUP BY 1, 2, 3, 4;
