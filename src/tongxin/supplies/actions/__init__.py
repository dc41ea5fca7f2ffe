"""Every write of the supplies module, one module per topic."""
