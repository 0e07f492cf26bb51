-- Every move statement cancels the pending approval of the stage it leaves, so the
-- statement-level trigger on approvals fired for every batch of moves (and its empty
-- update of opportunities fired the funnel trigger once more), though a cancel never
-- bumps rev. A row-level trigger with a WHEN clause fires only for the rows that do:
-- an approval approved or rejected, which is rare.
DROP TRIGGER approvals_rev_update ON approvals;--> statement-breakpoint
DROP FUNCTION sp_rev_approval_update();--> statement-breakpoint
CREATE FUNCTION sp_rev_approval_decided() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE opportunities SET rev = rev + 1 WHERE id = NEW.opportunity_id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER approvals_rev_decided AFTER UPDATE ON approvals FOR EACH ROW
  WHEN (NEW.state IS DISTINCT FROM OLD.state AND NEW.state <> 'cancelled') EXECUTE FUNCTION sp_rev_approval_decided();
