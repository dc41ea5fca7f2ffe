"""Pages of the voice module: groups (filled in by its owner)."""

urlpatterns: list = []
