"""Modal and full screens of grafo-tui, one per module."""
