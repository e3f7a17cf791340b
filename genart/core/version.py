"""genart's version, in the core so that every layer can name it without importing the package's public facade."""

__version__ = "0.1.0"
