-- FerretDB 1.24 on PostgreSQL pushes an equality filter down as `_jsonb->$1 @> $2` and creates its indexes as
-- btree on `(_jsonb->'field')`; a btree cannot answer `@>`, so every query, even by _id, scans its table
-- (FerretDB#4646). A GIN index on the same expression can, once PostgreSQL plans each execution with its
-- parameters (plan_cache_mode = force_custom_plan). This trigger gives every index FerretDB creates such a twin.
CREATE OR REPLACE FUNCTION ferretdb_gin_twin() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
  command record;
  column_no int;
  expression text;
BEGIN
  FOR command IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE object_type = 'index' LOOP
    CONTINUE WHEN NOT EXISTS (
      SELECT 1 FROM pg_class c JOIN pg_am am ON am.oid = c.relam WHERE c.oid = command.objid AND am.amname = 'btree');
    FOR column_no IN SELECT generate_series(1, indnatts) FROM pg_index WHERE indexrelid = command.objid LOOP
      expression := pg_get_indexdef(command.objid, column_no, true);
      CONTINUE WHEN expression !~ '^\(_jsonb -> ''[^'']+''::text\)$';
      EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin (%s jsonb_path_ops)',
        left((SELECT relname FROM pg_class WHERE oid = command.objid), 56) || '_gin' || column_no,
        (SELECT indrelid::regclass FROM pg_index WHERE indexrelid = command.objid),
        expression);
    END LOOP;
  END LOOP;
END $$;
DROP EVENT TRIGGER IF EXISTS ferretdb_gin_twin;
CREATE EVENT TRIGGER ferretdb_gin_twin ON ddl_command_end WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION ferretdb_gin_twin();
