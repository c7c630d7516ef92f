"""TLS to the warehouse (contract 3): the loader refuses a server whose certificate does not
verify, or that offers no TLS, and loads over a verified connection.

Real servers: a throw-away MariaDB with a certificate from a CA generated here by openssl,
the shared MySQL on 3307 (its auto-generated self-signed certificate), a MariaDB without TLS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pymysql
import pytest

from dumpflow import certs
from dumpflow.certs import RDS_CA_SHA256, CaBundleError, rds_ca_bundle
from dumpflow.db import Dsn, DsnError, TlsMode
from dumpflow.loader import LoadError, load_dump
from dumpflow.local.mariadb import throwaway_server
from dumpflow.sample import write_sample_dumps

pytestmark = pytest.mark.mariadb

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Pki:
    ca: Path
    other_ca: Path
    cert: Path
    key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _ca(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             f"/CN=dumpflow test {name}", "-keyout", str(key), "-out", str(cert),
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, a server certificate it signed for 127.0.0.1 only, and an unrelated CA."""
    directory = tmp_path_factory.mktemp("pki")
    ca, ca_key = _ca(directory, "ca")
    other_ca, _ = _ca(directory, "other-ca")
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", str(key), "-out", str(csr), cwd=directory)  # fmt: skip
    (directory / "san.ext").write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
    )
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
             "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", str(cert),
             cwd=directory)  # fmt: skip
    key.chmod(0o644)  # mariadbd runs as root here but reads it after dropping nothing
    return Pki(ca=ca, other_ca=other_ca, cert=cert, key=key)


@pytest.fixture(scope="module")
def tls_server(pki: Pki) -> Iterator[Dsn]:
    """A MariaDB presenting the certificate of the test CA (plain Dsn: TLS not verified)."""
    tls = (f"--ssl-ca={pki.ca}", f"--ssl-cert={pki.cert}", f"--ssl-key={pki.key}")
    with throwaway_server(extra_args=tls) as dsn:
        yield dsn


@pytest.fixture(scope="module")
def plain_server() -> Iterator[Dsn]:
    """A MariaDB that offers no TLS at all."""
    with throwaway_server(extra_args=("--skip-ssl",)) as dsn:
        yield dsn


@pytest.fixture(scope="module")
def sample_dump(tmp_path_factory: pytest.TempPathFactory, mariadb_dsn: Dsn) -> Path:
    out = tmp_path_factory.mktemp("tls-dump")
    (dump,) = write_sample_dumps(out, dt.date(2026, 11, 20), scale=0.01, dsn=mariadb_dsn)
    return dump.path


def _session_tls_version(dsn: Dsn) -> str:
    conn = pymysql.connect(**dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
            row = cur.fetchone()
            return str(row[1]) if row else ""
    finally:
        conn.close()


def _schemas(dsn: Dsn, fragment: str) -> list[str]:
    conn = pymysql.connect(**dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW DATABASES")
            return [str(name) for (name,) in cur.fetchall() if fragment in str(name)]
    finally:
        conn.close()


def test_the_loader_loads_over_tls_verified_against_its_ca(
    tls_server: Dsn, pki: Pki, sample_dump: Path
) -> None:
    verified = replace(tls_server, tls=TlsMode.VERIFY_IDENTITY, tls_ca=str(pki.ca))
    assert _session_tls_version(verified).startswith("TLSv1.")
    report = load_dump(str(sample_dump), "staging_tls", verified, required_tables=["tenants"])
    assert report.total_rows > 0 and "tenants" in report.tables
    assert "staging_tls" in _schemas(tls_server, "staging_tls")


@pytest.mark.parametrize(
    ("case", "host", "mode"),
    [
        ("unrelated CA", "127.0.0.1", TlsMode.VERIFY_CA),
        ("name not in the certificate", "localhost", TlsMode.VERIFY_IDENTITY),
    ],
)
def test_the_loader_refuses_a_certificate_that_does_not_verify(
    tls_server: Dsn, pki: Pki, sample_dump: Path, case: str, host: str, mode: TlsMode
) -> None:
    ca = pki.other_ca if case == "unrelated CA" else pki.ca
    wrong = replace(tls_server, host=host, tls=mode, tls_ca=str(ca))
    with pytest.raises(LoadError) as refused:
        load_dump(str(sample_dump), "staging_refused", wrong, required_tables=[])
    assert refused.value.stage == "setup"
    assert "certificate verify failed" in str(refused.value) or "match" in str(refused.value)
    assert _schemas(tls_server, "staging_refused") == []


def test_verify_ca_accepts_the_right_ca_under_another_name(tls_server: Dsn, pki: Pki) -> None:
    """The difference between the modes: verify-ca does not check the name connected to."""
    by_name = replace(tls_server, host="localhost", tls=TlsMode.VERIFY_CA, tls_ca=str(pki.ca))
    assert _session_tls_version(by_name).startswith("TLSv1.")


def test_the_loader_refuses_mysqls_self_signed_certificate_with_the_rds_bundle(
    mysql_dsn: Dsn, sample_dump: Path
) -> None:
    assert _session_tls_version(mysql_dsn).startswith("TLSv1.")  # it does speak TLS
    for mode in (TlsMode.VERIFY_CA, TlsMode.VERIFY_IDENTITY):
        aurora_like = replace(mysql_dsn, tls=mode)  # default CA: the pinned RDS bundle
        with pytest.raises(LoadError) as refused:
            load_dump(str(sample_dump), "staging_selfsigned", aurora_like, required_tables=[])
        assert refused.value.stage == "setup"
        assert "certificate verify failed" in str(refused.value)


def test_the_loader_refuses_a_server_without_tls(plain_server: Dsn, sample_dump: Path) -> None:
    assert _session_tls_version(plain_server) == ""
    verified = replace(plain_server, tls=TlsMode.VERIFY_IDENTITY)
    with pytest.raises(LoadError) as refused:
        load_dump(str(sample_dump), "staging_plain", verified, required_tables=[])
    assert refused.value.stage == "setup" and "SSL is required" in str(refused.value)


# ----- settings ------------------------------------------------------------------------------


def test_tls_in_a_dsn() -> None:
    dsn = Dsn.parse("mysql://u:p@db.example:3306/x?tls=verify-identity&tls-ca=/etc/ca.pem")
    assert (dsn.tls, dsn.tls_ca, dsn.database) == (TlsMode.VERIFY_IDENTITY, "/etc/ca.pem", "x")
    assert Dsn.parse("mysql://u@h?tls=VERIFY_CA").tls is TlsMode.VERIFY_CA
    assert "ssl" not in Dsn.parse("mysql://u@h").connect_kwargs()
    assert dsn.redacted() == "mysql://u@db.example:3306/x?tls=verify-identity"
    for bad, words in (
        ("mysql://u@h?tls=required", "must be one of preferred, verify-ca, verify-identity"),
        ("mysql://u@h?ssl=1", "DSN option ssl is unknown"),
        ("mysql://u@h?tls-ca=/ca.pem", "needs tls=verify-ca or tls=verify-identity"),
        ("mysql://u:secret@h:99999", "is not a URL"),
    ):
        with pytest.raises(DsnError, match=words) as error:
            Dsn.parse(bad)
        assert "secret" not in str(error.value)


def test_a_verifying_context_requires_a_certificate_and_a_modern_protocol() -> None:
    context = Dsn("h", 3306, "u", "p", tls=TlsMode.VERIFY_IDENTITY).ssl_context()
    assert context is not None and context.check_hostname
    assert context.minimum_version.name == "TLSv1_2"
    assert context.cert_store_stats()["x509_ca"] == 115  # the RDS bundle
    ca_only = Dsn("h", 3306, "u", "p", tls=TlsMode.VERIFY_CA).ssl_context()
    assert ca_only is not None and not ca_only.check_hostname
    with pytest.raises(DsnError, match="cannot load it"):
        Dsn("h", 3306, "u", "p", tls=TlsMode.VERIFY_CA, tls_ca="/nonexistent.pem").ssl_context()


# ----- the pinned bundle ---------------------------------------------------------------------


def test_the_rds_bundle_is_the_pinned_one_everywhere_it_ships() -> None:
    shipped = (REPO / "src" / "dumpflow" / "certs" / certs.RDS_CA_FILE).read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == RDS_CA_SHA256
    assert rds_ca_bundle().encode() == shipped
    assert (REPO / "dbt_task" / "certs" / certs.RDS_CA_FILE).read_bytes() == shipped
    assert RDS_CA_SHA256 in (REPO / "src" / "dumpflow" / "certs" / "README.md").read_text()


def test_a_bundle_that_is_not_the_pinned_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(certs, "RDS_CA_SHA256", "0" * 64)
    with pytest.raises(CaBundleError, match="not the pinned"):
        rds_ca_bundle()


def test_the_glue_loader_package_carries_the_bundle(tmp_path: Path) -> None:
    package = tmp_path / "loader.zip"
    subprocess.run(
        [str(REPO / "deploy" / "build_loader.sh"), str(package)],
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable, "HOME": str(tmp_path)},
    )
    assert f"dumpflow/certs/{certs.RDS_CA_FILE}" in zipfile.ZipFile(package).namelist()
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from dumpflow.db import Dsn, TlsMode; "
        "c = Dsn('h', 1, 'u', '', tls=TlsMode.VERIFY_IDENTITY).ssl_context(); "
        "print(c.cert_store_stats()['x509_ca'])"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", probe, str(package)],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.stdout.strip() == "115"


# ----- the dbt task: the prod profile's mysql_tls adapter and the runner's own query ---------

DBT_DEBUG = """
import sys
from dbt.cli.main import dbtRunner
project = sys.argv[1]
result = dbtRunner().invoke(["debug", "--project-dir", project, "--profiles-dir", project,
                             "--target", "prod", "--no-version-check", "--log-path", sys.argv[2],
                             "--no-send-anonymous-usage-stats"])
sys.exit(0 if result.success else 1)
"""


def dbt_debug(tmp_path: Path, server: Dsn, **env: str) -> subprocess.CompletedProcess[str]:
    """``dbt debug --target prod`` as the image runs it (PYTHONPATH=adapters), in a process."""
    environment = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO / "dbt_task" / "adapters"),
        "DBT_HOST": server.host,
        "DBT_PORT": str(server.port),
        "DBT_USER": server.user,
        "DBT_PASSWORD": server.password,
        "DBT_SCHEMA_SUFFIX": "_tlsdebug",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", DBT_DEBUG, str(REPO / "dbt_task"), str(tmp_path / "logs")],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        cwd=tmp_path,
        check=False,
    )


def test_dbt_connects_over_tls_verified_against_its_ca(
    tmp_path: Path, tls_server: Dsn, pki: Pki
) -> None:
    done = dbt_debug(tmp_path, tls_server, DBT_TLS_CA=str(pki.ca))
    assert done.returncode == 0, done.stdout[-2000:]
    assert "type: mysql_tls" in done.stdout and "tls: verify-identity" in done.stdout
    assert "Connection test: [OK connection ok]" in done.stdout


@pytest.mark.parametrize(
    ("case", "host", "env"),
    [
        ("the RDS bundle (default) does not vouch for the test CA", "127.0.0.1", {}),
        ("a name not in the certificate", "localhost", {"DBT_TLS": "verify-identity"}),
    ],
)
def test_dbt_refuses_a_certificate_that_does_not_verify(
    tmp_path: Path, tls_server: Dsn, pki: Pki, case: str, host: str, env: dict[str, str]
) -> None:
    if "name" in case:
        env = {**env, "DBT_TLS_CA": str(pki.ca)}
    done = dbt_debug(tmp_path, replace(tls_server, host=host), **env)
    assert done.returncode == 1, case
    assert "Connection test: [ERROR]" in done.stdout
    assert "certificate verify failed" in done.stdout or "match" in done.stdout


def test_dbt_refuses_a_server_without_tls(tmp_path: Path, plain_server: Dsn) -> None:
    done = dbt_debug(tmp_path, plain_server)
    assert done.returncode == 1 and "Connection test: [ERROR]" in done.stdout


@pytest.fixture(scope="module")
def runner() -> Any:
    """``dbt_task/runner.py`` imported from its file, as the container runs it."""
    spec = importlib.util.spec_from_file_location(
        "dbt_task_runner_tls", REPO / "dbt_task" / "runner.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_runners_own_query_is_verified_like_dbt(tls_server: Dsn, pki: Pki, runner: Any) -> None:
    base = {"DUMP_DATE": "2026-11-20", "DBT_TARGET": "prod", "DBT_HOST": tls_server.host,
            "DBT_PORT": str(tls_server.port), "DBT_USER": tls_server.user}  # fmt: skip
    config = runner.RunConfig.from_env({**base, "DBT_TLS_CA": str(pki.ca)})
    assert config.tls == "verify-identity"
    assert runner.newest_snapshot(config) is None  # connected: no snapshot table yet
    with pytest.raises(pymysql.err.OperationalError, match="certificate verify failed"):
        runner.newest_snapshot(runner.RunConfig.from_env(base))  # the RDS bundle
    local = runner.RunConfig.from_env({**base, "DBT_TARGET": "local"})
    assert local.tls == "preferred" and runner.tls_arguments(local) == {}
    with pytest.raises(runner.RunRefused, match="DBT_TLS='required'"):
        runner.tls_arguments(runner.RunConfig.from_env({**base, "DBT_TLS": "required"}))
