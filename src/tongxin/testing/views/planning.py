"""Pages of mass testing: planning."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
