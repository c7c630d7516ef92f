"""The (macro-less) dbt project of the ``mysql_tls`` adapter: its macros are mysql's."""

import os

PACKAGE_PATH = os.path.dirname(__file__)
