"""grafo-tui: run a Grafo pipeline file and watch its task tree in the terminal."""

__version__ = "0.1.0"
