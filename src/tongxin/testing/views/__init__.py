"""Pages of mass testing, one module per topic, each with its own `urlpatterns`."""
