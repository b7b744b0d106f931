"""Widgets of the grafo-tui screen, one per module."""
