"""Every write of the access module, one module per topic."""
