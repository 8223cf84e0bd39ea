"""gotk_runtime."""
