"""Interchange formats: reading and writing networks (JSON, TOML, CSV) through one private converter."""
