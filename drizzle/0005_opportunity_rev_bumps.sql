CREATE INDEX "opportunities_customer" ON "opportunities" USING btree ("customer_id");--> statement-breakpoint
-- A command decides on the state this instance last read or wrote of an opportunity and
-- writes it with compare-and-set on `rev` (OpportunityService.known). So `rev` changes
-- whenever anything such a decision reads changes: the row itself, its customer's name and
-- fields, how many contacts the customer has, its orders, its approvals (other than the
-- cancel that comes with a move, which bumps it anyway) and its owner's name and supervisor.
CREATE OR REPLACE FUNCTION sp_opportunity_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.rev := OLD.rev + 1;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER opportunities_rev BEFORE UPDATE ON opportunities FOR EACH ROW WHEN (NEW.rev = OLD.rev) EXECUTE FUNCTION sp_opportunity_rev();
--> statement-breakpoint
-- One function for inserts and deletes: plpgsql plans only the branch it runs, so each
-- names the transition table its trigger has.
CREATE OR REPLACE FUNCTION sp_rev_by_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    UPDATE opportunities SET rev = rev + 1 WHERE customer_id IN (SELECT customer_id FROM old_rows);
  ELSE
    UPDATE opportunities SET rev = rev + 1 WHERE customer_id IN (SELECT customer_id FROM new_rows);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER contacts_rev_insert AFTER INSERT ON contacts REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sp_rev_by_customer();
--> statement-breakpoint
CREATE TRIGGER contacts_rev_delete AFTER DELETE ON contacts REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sp_rev_by_customer();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION sp_rev_customer_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE opportunities SET rev = rev + 1 WHERE customer_id IN (
    SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.name IS DISTINCT FROM o.name OR n.fields IS DISTINCT FROM o.fields);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER customers_rev AFTER UPDATE ON customers REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sp_rev_customer_update();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION sp_rev_by_opportunity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    UPDATE opportunities SET rev = rev + 1 WHERE id IN (SELECT opportunity_id FROM old_rows);
  ELSE
    UPDATE opportunities SET rev = rev + 1 WHERE id IN (SELECT opportunity_id FROM new_rows);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER orders_rev_insert AFTER INSERT ON orders REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sp_rev_by_opportunity();
--> statement-breakpoint
CREATE TRIGGER orders_rev_delete AFTER DELETE ON orders REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sp_rev_by_opportunity();
--> statement-breakpoint
CREATE TRIGGER approvals_rev_insert AFTER INSERT ON approvals REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sp_rev_by_opportunity();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION sp_rev_approval_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE opportunities SET rev = rev + 1 WHERE id IN (
    SELECT n.opportunity_id FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.state IS DISTINCT FROM o.state AND n.state <> 'cancelled');
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER approvals_rev_update AFTER UPDATE ON approvals REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sp_rev_approval_update();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION sp_rev_user_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE opportunities o SET rev = o.rev + 1 FROM new_rows n JOIN old_rows p ON p.tenant_id = n.tenant_id AND p.id = n.id
  WHERE (n.name IS DISTINCT FROM p.name OR n.manager_id IS DISTINCT FROM p.manager_id)
    AND o.tenant_id = n.tenant_id AND o.owner_id = n.id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER users_rev AFTER UPDATE ON users REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sp_rev_user_update();
