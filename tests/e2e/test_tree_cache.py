"""`lamina serve --tree-cache-mb`: past the bound, the extracted trees no environment uses are
evicted, and a function whose tree was evicted is extracted again at its next cold start."""

import uuid

import pytest

from function_support import fn_name  # noqa: F401 (fixture)
from helpers import tree_dir
from invoke_support import deploy, handler_zip, invoke
from s3_support import s3, s3_args, s3_env  # noqa: F401 (fixture)
from sandbox_support import wait_for


@pytest.fixture(params=["local", "s3"])
def artifacts(request):
    """Where the ZIPs are, as `lamina serve` arguments and environment: the data directory,
    or the test S3 server (then an evicted tree is fetched from S3, as on a node that never
    had it)."""
    if request.param == "local":
        return [], None
    settings = request.getfixturevalue("s3")
    return s3_args(settings), s3_env(settings)


def test_an_evicted_tree_is_extracted_again_and_still_invokes(start_server, client_for, artifacts, fn_name):  # noqa: F811
    args, env = artifacts
    # A bound of 0 keeps only the trees in use; idle environments end after a second.
    server = start_server(*args, "--tree-cache-mb", "0", "--idle-timeout-secs", "1", env=env)
    lam = client_for(server)
    value = uuid.uuid4().hex
    code = handler_zip(
        f"""
        def lambda_handler(event, context):
            return {value!r}
        """
    )
    deploy(lam, fn_name, zip_bytes=code)
    tree = tree_dir(server.data_dir, code)

    assert invoke(lam, fn_name).json() == value
    # Its environment is reaped as idle, and then nothing uses the tree.
    wait_for(lambda: not tree.exists(), 60, f"{tree} was not evicted")

    assert invoke(lam, fn_name).json() == value
    assert tree.is_dir(), "extracted again for the cold start, and kept while its environment is"
