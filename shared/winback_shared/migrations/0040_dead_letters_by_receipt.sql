-- A delivery's dead letter found by its receipt id without reading them all.
--
-- `GET /deliveries/{receipt_id}` (what `winback send` asks after posting, and what a vendor's
-- or an operator's script asks about one delivery) looks for the newest dead letter of the
-- receipt. dead_letters had no index on receipt_id, so every such question read the whole
-- table: small while the input is clean, millions of rows after a vendor posted malformed
-- responses for a day, which is exactly when the question gets asked.
--
-- The router pays one more B-tree insert per dead letter, which is rare by definition.
CREATE INDEX dead_letters_receipt_idx ON dead_letters (receipt_id, id);
