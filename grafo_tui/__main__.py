"""Allow `python -m grafo_tui PATH[:NAME]`."""

from grafo_tui.cli import main

raise SystemExit(main())
