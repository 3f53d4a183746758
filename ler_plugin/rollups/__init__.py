"""District rollups: summary cells kept in step with records, rollup queries, compliance over the
database, and CSV streams. `install(engine)` puts the summary upkeep on an engine."""

from ler_plugin.rollups.summary import install

__all__ = ["install"]
