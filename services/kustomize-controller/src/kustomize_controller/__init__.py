"""kustomize_controller."""
