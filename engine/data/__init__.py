"""Village data: tables (CSV/XLSX/JSONL), imports, the SQLite store, the workspace."""
