"""gotk_api."""
