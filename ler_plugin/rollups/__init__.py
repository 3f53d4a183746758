"""District rollups: summary cells kept in step with records, rollup queries, compliance over the
database, and CSV streams."""
