"""Database backends of the chassis."""
