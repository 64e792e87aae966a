# The web app and its test client on the test database, as in tests/webui.
from ..webui.conftest import app, client  # noqa: F401
