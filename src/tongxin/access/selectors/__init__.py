"""Every read of the access module, scoped to the acting user; one module per topic."""
