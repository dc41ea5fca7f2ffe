"""Pages of mass testing: lab."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
