"""Data toolkits: walking folders, decoding images, the image options and built-in data sets.

Kept free of imports so that reading the image options (for `genart --help`) does not load torch."""
