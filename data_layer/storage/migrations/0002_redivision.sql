-- GridPulse live source, schema 2: grid re-division (网格调整, docs/import.md).
--
-- Areas keep when they came and went: valid_from (null: from the start) and retired_at (null:
-- current). A re-division (`import --boundaries … --replace`) retires the areas the file no
-- longer has instead of deleting them, and moves the cases of a retired grid to the grid that
-- now holds their point; case_moves records each move, so figures as of a time before the
-- re-division use the grids of that time. Columns and order match data_layer/domain/schema.py.

ALTER TABLE gridpulse.streets ADD COLUMN valid_from timestamp, ADD COLUMN retired_at timestamp;
ALTER TABLE gridpulse.communities ADD COLUMN valid_from timestamp, ADD COLUMN retired_at timestamp;
ALTER TABLE gridpulse.grids ADD COLUMN valid_from timestamp, ADD COLUMN retired_at timestamp;

CREATE TABLE gridpulse.case_moves (
    move_id text PRIMARY KEY,
    case_id text,
    from_grid_code text,
    to_grid_code text,
    moved_at timestamp
);

INSERT INTO gridpulse.table_changes (table_name) VALUES ('case_moves');
CREATE TRIGGER case_moves_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON gridpulse.case_moves FOR EACH STATEMENT EXECUTE FUNCTION gridpulse.note_change_trigger('case_moves');
