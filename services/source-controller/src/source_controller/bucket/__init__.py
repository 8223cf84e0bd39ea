"""Bucket sources: an S3-compatible bucket's objects, indexed by etag, stored as an artifact."""
