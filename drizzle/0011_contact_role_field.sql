-- Contacts' roles are a managed select field of the new `contact` object (issue 20). New
-- tenants get it from core's DEFAULT_CUSTOM_FIELDS; tenants that exist already get it here.
INSERT INTO "field_definitions" ("tenant_id", "object", "key", "label", "type", "options", "required")
SELECT "id", 'contact', 'role', '{"zh":"联系人角色","en":"Contact role"}'::jsonb, 'multiselect',
  '[{"value":"direct","label":{"zh":"直接联系人","en":"Direct contact"}},{"value":"decisionMaker","label":{"zh":"关键决策人","en":"Decision maker"}},{"value":"technical","label":{"zh":"技术负责人","en":"Technical lead"}},{"value":"procurement","label":{"zh":"采购","en":"Procurement"}}]'::jsonb,
  false
FROM "tenants"
ON CONFLICT DO NOTHING;
