"""The built-in delivery channel plugins, one small module each: copy one to write your own.

- :mod:`~cssc_core.plugins.channels.file`: JSON lines in an outbox file (the default);
- :mod:`~cssc_core.plugins.channels.console`: readable copies on standard output;
- :mod:`~cssc_core.plugins.channels.smtp`: email over SMTP (the ``smtp`` extra);
- :mod:`~cssc_core.plugins.channels.webhook`: signed JSON posted to HTTPS endpoints (the ``webhook`` extra);
- :mod:`~cssc_core.plugins.channels.sms_http`: a generic JSON SMS gateway (the ``sms`` extra).
"""
