"""dumpflow: event-driven, exactly-once ingestion of daily MySQL dumps into a dbt warehouse."""

__version__ = "0.1.0"
