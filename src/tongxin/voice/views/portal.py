"""Pages of the voice module: portal (filled in by its owner)."""

urlpatterns: list = []
