"""Pages of the voice module: dashboard (filled in by its owner)."""

urlpatterns: list = []
