from django.urls import path  # noqa: F401

from tongxin.outbreak import views  # noqa: F401

app_name = "outbreak"
urlpatterns: list = []
