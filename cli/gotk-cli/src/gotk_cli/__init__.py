"""gotk_cli."""
