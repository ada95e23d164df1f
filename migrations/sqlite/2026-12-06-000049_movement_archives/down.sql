DROP VIEW stock_movements_history;
DROP VIEW stock_movements_archived;
DROP TABLE stock_opening_balances;
DROP TABLE movement_archives;
