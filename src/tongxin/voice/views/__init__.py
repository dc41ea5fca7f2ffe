"""Pages of the voice module, one module per part; each exports `urlpatterns`."""
