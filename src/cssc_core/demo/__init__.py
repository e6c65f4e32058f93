"""The story ``cssc demo`` tells: a day of traffic on the example network, and its report.

- :mod:`~cssc_core.demo.scenario`: the timeline as data (messages, releases, acknowledgements);
- :mod:`~cssc_core.demo.story`: plays it on a simulated clock into a folder of its own;
- :mod:`~cssc_core.demo.report`: the report, built from what the store holds.
"""
