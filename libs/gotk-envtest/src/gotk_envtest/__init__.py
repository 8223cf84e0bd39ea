"""gotk_envtest."""
