"""gotk_artifacts."""
