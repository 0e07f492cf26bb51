-- A move changes an opportunity's status and stage. With those in an index, every move
-- wrote a new entry into each of the table's indexes and left a dead row version behind
-- that only vacuum could reclaim: under a stream of moves the table and its indexes grew
-- and every statement on them slowed. Without them, PostgreSQL updates the row in place
-- (a HOT update) and prunes old versions on its own; free space on each page (fillfactor)
-- keeps room for the new version next to the old one.
DROP INDEX "opportunities_tenant_process";--> statement-breakpoint
CREATE INDEX "opportunities_tenant_process" ON "opportunities" USING btree ("tenant_id","process_id");--> statement-breakpoint
ALTER TABLE "opportunities" SET (fillfactor = 80);
