DROP TABLE registry_changes;
