"""Routing: which contacts get a message, on which channels, directly or relayed through ISLs."""
