"""Command-line tools run once by a user, outside an evaluation (e.g. weight converters)."""
