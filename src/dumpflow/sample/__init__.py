"""Realistic dumps of the operator's source system, written by the real ``mariadb-dump``."""

from dumpflow.sample.scratch import SampleDumpError
from dumpflow.sample.writer import SampleDump, write_sample_dumps

__all__ = ["SampleDump", "SampleDumpError", "write_sample_dumps"]
