"""Every read of mass testing, scoped to the acting user, one module per topic."""
