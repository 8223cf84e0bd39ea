"""gotk_ui."""
