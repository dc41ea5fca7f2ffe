"""Pages of the voice module: notices (filled in by its owner)."""

urlpatterns: list = []
