"""The test PostgreSQL server (scripts/postgres-test) for e2e tests of nodes sharing a
database: a fresh database per test on the server LAMINA_TEST_POSTGRES_URL names (scripts/test
starts it), and the secrets key every node of a test's cluster is given."""

import base64
import os
import urllib.parse
import uuid

import pytest

from cluster import psql


def admin_url() -> str:
    """The test server's URL; fails (never skips) when it was not started."""
    url = os.environ.get("LAMINA_TEST_POSTGRES_URL")
    if not url:
        pytest.fail(
            "LAMINA_TEST_POSTGRES_URL is not set: "
            'export LAMINA_TEST_POSTGRES_URL="$(scripts/postgres-test start)" (scripts/test does)'
        )
    return url


@pytest.fixture
def database_url() -> str:
    """The URL of a new, empty database on the test server, dropped afterwards."""
    admin = admin_url()
    name = f"lamina_e2e_{uuid.uuid4().hex[:12]}"
    psql(admin, f"CREATE DATABASE {name}")
    parts = urllib.parse.urlsplit(admin)
    yield urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    psql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def secrets_key() -> str:
    """The LAMINA_SECRETS_KEY every node of the test's cluster is given."""
    return base64.b64encode(os.urandom(32)).decode()
