"""The version of memorygraph, in a module of its own so that any layer can name it
without importing the package's public facade (`memorygraph/__init__.py`)."""

__version__ = "0.1.0"
