"""A script that fails while it runs, before any tree starts."""

raise RuntimeError("the input folder is missing")
