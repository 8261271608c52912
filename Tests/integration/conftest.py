import os
import shutil
import tempfile

import pytest

from stack import APP_BIN, SANDBOX_BIN, App, Sandbox


def pytest_configure(config):
    for binary in (APP_BIN, SANDBOX_BIN):
        if not binary.exists():
            raise pytest.UsageError(f"{binary} is missing: build first (make test does)")


@pytest.fixture(scope="session")
def workdir():
    path = tempfile.mkdtemp(prefix="app-inbox-it-")
    os.chmod(path, 0o755)  # nginx workers must reach the files (docs/PITFALLS.md #16)
    yield path
    if os.environ.get("KEEP_TEST_DIR") != "1":
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def sandbox(workdir):
    box = Sandbox(workdir)
    yield box
    box.stop()


@pytest.fixture(autouse=True)
def clean_sandbox(request):
    """Every test starts with a healthy sandbox and an empty request record."""
    if "sandbox" in request.fixturenames:
        box = request.getfixturevalue("sandbox")
        box.reset()
        yield
        box.reset()
    else:
        yield


@pytest.fixture(scope="module")
def app(workdir, sandbox, request):
    instance = App(os.path.join(workdir, request.module.__name__), sandbox, threads=64)
    yield instance
    instance.stop()


@pytest.fixture
def start_app(workdir, sandbox, request):
    """Starts an app with its own configuration for one test; stopped afterwards."""
    started = []

    def start(name="custom", **kwargs):
        instance = App(os.path.join(workdir, f"{request.node.name}-{name}-{len(started)}"), sandbox, **kwargs)
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()
