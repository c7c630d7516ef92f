"""The dump loader: stream a mysqldump/mariadb-dump file into a schema atomically and safely."""

from dumpflow.loader.errors import LoadError
from dumpflow.loader.load import load_dump
from dumpflow.loader.report import LoadReport, ValidationReport
from dumpflow.loader.validate import validate_dump

__all__ = ["LoadError", "LoadReport", "ValidationReport", "load_dump", "validate_dump"]
