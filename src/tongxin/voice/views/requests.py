"""Pages of the voice module: requests (filled in by its owner)."""

urlpatterns: list = []
