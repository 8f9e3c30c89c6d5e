"""Session-wide servers for integration tests: one MariaDB (with TLS) and one moto server.

Both are started once per test session on free ports with temporary data directories, through
the same harness `make stores-up` uses (scripts/harness), and stopped at the end. MariaDB is
installed with apt when missing (Debian/Ubuntu as root); elsewhere the tests that need it fail
with the harness's install hint. The server speaks TLS with a throwaway CA so ``DB_TLS=verify``
and ``require`` are tested for real; ``off`` connections stay plaintext.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import settings as hypothesis_settings

from scripts.harness.stack import local_stores, processes
from scripts.harness.stack.mariadb import MariaDBServer, TlsFiles
from scripts.harness.stack.moto_server import MotoServer

APP_USER = "registrations_app"


@dataclass(frozen=True)
class DatabaseServer:
    """The session's MariaDB plus the application user every test database grants to."""

    server: MariaDBServer
    user: str
    password: str
    tls: TlsFiles

    @property
    def port(self) -> int:
        return self.server.port

    def create_database(self, name: str) -> None:
        self.server.provision(database=name, user=self.user, password=self.password)


def _write_pem(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def make_tls_files(directory: Path) -> TlsFiles:
    """A throwaway CA and a server certificate for 127.0.0.1 / localhost, signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "registrations test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return TlsFiles(
        cert=_write_pem(directory / "server-cert.pem", server_cert.public_bytes(pem)),
        key=_write_pem(
            directory / "server-key.pem",
            server_key.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        ),
        ca=_write_pem(directory / "ca.pem", ca_cert.public_bytes(pem)),
    )


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseServer]:
    """MariaDB for the whole session (non-durable: no fsync per commit, tests only)."""
    base = tmp_path_factory.mktemp("mariadb")
    tls = make_tls_files(tmp_path_factory.mktemp("tls"))
    server = MariaDBServer(base, port=processes.free_port(), tls=tls, durable=False)
    server.start()
    try:
        yield DatabaseServer(server, APP_USER, secrets.token_urlsafe(16), tls)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A moto server for the whole session; tests isolate themselves by resource names."""
    server = MotoServer(tmp_path_factory.mktemp("moto"), port=processes.free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_stores(
    mariadb_server: DatabaseServer, moto_server: MotoServer
) -> local_stores.ProvisionedStores:
    """A database, table, DLQ and secret of this test's own (unique names, shared servers)."""
    suffix = secrets.token_hex(4)
    names = local_stores.StoreNames(
        table_name=f"users-{suffix}",
        dlq_name=f"dlq-{suffix}",
        secret_name=f"db-{suffix}",
        database=f"registrations_{suffix}",
        db_user=mariadb_server.user,
    )
    mariadb_server.create_database(names.database)
    return local_stores.provision(
        moto_server.endpoint_url,
        local_stores.DatabaseEndpoint(
            host="127.0.0.1",
            port=mariadb_server.port,
            name=names.database,
            username=mariadb_server.user,
            password=mariadb_server.password,
        ),
        names,
    )


# `--hypothesis-profile=long` (the make chaos-style runs): property tests that take their example
# count from the profile run 10,000 examples instead of their default.
hypothesis_settings.register_profile("long", max_examples=10_000)
