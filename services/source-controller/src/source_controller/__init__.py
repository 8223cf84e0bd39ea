"""source_controller."""
