-- Nothing to undo: the constraint stays; 0004's down drops it.
SELECT 1;
