"""Every read of the supplies module, scoped to the acting user; one module per topic."""
