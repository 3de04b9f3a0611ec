"""Flow module under construction: registers nothing yet."""
