ALTER TABLE registries DROP COLUMN update_status;
