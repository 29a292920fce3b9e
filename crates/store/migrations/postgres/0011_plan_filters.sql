-- What a plan is filtered by, kept beside each item so that filtering reads columns instead of
-- looking into every item's operations: the object's name folded to lower case (by the writer,
-- for every script), and the names of its operations between commas (",update,delete,").
ALTER TABLE plan_items ADD COLUMN name_key text NOT NULL DEFAULT '';
ALTER TABLE plan_items ADD COLUMN operation_names text NOT NULL DEFAULT '';
UPDATE plan_items SET
    name_key = lower(object_name),
    operation_names = ',' || coalesce(
        (SELECT string_agg(op ->> 'operation', ',') FROM jsonb_array_elements(operations) AS op),
        ''
    ) || ',';
