"""vendors tests."""
