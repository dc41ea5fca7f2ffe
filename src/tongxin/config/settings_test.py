"""Settings for the test suite: the production settings with test-only keys (DEBUG stays as given)."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-for-the-suite")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "dGVzdC1vbmx5LWZpZWxkLWtleS1mb3ItdGhlLXN1aXRlLg==")

from tongxin.config.settings import *  # noqa: E402,F403

STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
