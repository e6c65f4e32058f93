"""The built-in delivery channel plugins, one small module each: copy one to write your own.

- :mod:`~cssc_core.plugins.channels.file`: JSON lines in an outbox file (the default).
"""
