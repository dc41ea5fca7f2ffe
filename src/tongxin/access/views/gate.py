"""gate pages of the access module."""

urlpatterns: list = []
