"""The columnar (fast) evaluator: records as Arrow/numpy columns, limits as vectorised recurrences."""
