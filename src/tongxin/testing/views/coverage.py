"""Pages of mass testing: coverage."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
