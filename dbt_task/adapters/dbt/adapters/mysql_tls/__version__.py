"""The adapter follows dbt-mysql 1.7 (dbt checks an adapter's minor version against core's)."""

version = "1.7.0"
