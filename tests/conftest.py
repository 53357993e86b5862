# The sandbox Kubernetes API server as the session fixture `sandbox` (tests/sandbox/fixture.py).
pytest_plugins = ["tests.sandbox.fixture"]
