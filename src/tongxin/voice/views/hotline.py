"""Pages of the voice module: hotline (filled in by its owner)."""

urlpatterns: list = []
