"""The package version, in a module of its own so that any layer may read it without importing
the public surface (``atlas/__init__`` imports the facade, the last layer)."""

__version__ = "0.1.0"
