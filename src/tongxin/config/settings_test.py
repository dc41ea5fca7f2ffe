"""Settings for the test suite: the production settings with test-only keys (DEBUG stays as given)."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-for-the-suite")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "dGVzdC1vbmx5LWZpZWxkLWtleS1mb3ItdGhlLXN1aXRlLg==")

from tongxin.config.settings import *  # noqa: E402,F403

STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405

# Live-server threads and subprocesses must not keep PostgreSQL connections open past a test:
# the test database could not be dropped at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
