"""Forms of the supplies pages, one module per part: they parse and label; the actions decide."""
