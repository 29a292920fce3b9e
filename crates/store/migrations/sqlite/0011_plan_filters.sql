-- What a plan is filtered by, kept beside each item so that filtering reads columns instead of
-- parsing every item's operations: the object's name folded to lower case (by the writer, for
-- every script), and the names of its operations between commas (",update,delete,").
ALTER TABLE plan_items ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE plan_items ADD COLUMN operation_names TEXT NOT NULL DEFAULT '';
UPDATE plan_items SET
    name_key = lower(object_name),
    operation_names = ',' || coalesce(
        (SELECT group_concat(json_extract(value, '$.operation'), ',') FROM json_each(operations)),
        ''
    ) || ',';
