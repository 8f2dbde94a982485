-- The update status as the last reminder pass or confirmation found it; the
-- search facet reads it, and a change of it goes through the change log.
ALTER TABLE registries ADD COLUMN update_status TEXT NOT NULL DEFAULT 'current';

-- Every index must learn the new facet: replay each registry once.
INSERT INTO registry_changes (registry_code, created_at)
SELECT registry_code, updated_at FROM registries ORDER BY registry_code;
