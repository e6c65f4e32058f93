"""Delivery channels: the channel file, templates, rendering, acknowledgement tokens, failover, SSRF.

- :mod:`~cssc_core.channels.config`: ``cssc-channels/1`` files and the defaults without one;
- :mod:`~cssc_core.channels.templates`: safe ``{field}`` templates;
- :mod:`~cssc_core.channels.render`: copies rendered once per message, personalised per recipient;
- :mod:`~cssc_core.channels.acks`: signed acknowledgement links and SMS reply codes;
- :mod:`~cssc_core.channels.failover`: several providers behind one channel;
- :mod:`~cssc_core.channels.limits`: a channel's ``rate_per_s``;
- :mod:`~cssc_core.channels.ssrf`: which addresses HTTP channels may reach.

The built-in channel plugins themselves are in :mod:`cssc_core.plugins.channels`.
"""

from cssc_core.channels.acks import AckClaim, AckSigner, AckTokenError
from cssc_core.channels.config import (
    CHANNELS_FORMAT,
    AckSettings,
    ChannelConfig,
    ChannelFile,
    ProviderConfig,
    channels_from_document,
    default_channels,
    parse_channels_toml,
    read_channel_file,
)
from cssc_core.channels.failover import FailoverChannel, Provider
from cssc_core.channels.limits import RateLimitedChannel
from cssc_core.channels.render import (
    ChannelTemplates,
    MessageCopy,
    PreparedMessage,
    Recipient,
    Renderer,
    WelshText,
    marking_line,
)
from cssc_core.channels.ssrf import ForbiddenAddressError, GuardedSocketFactory, check_url, forbidden_reason
from cssc_core.channels.templates import Escape, HeaderInjectionError, Template

__all__ = [
    "CHANNELS_FORMAT",
    "AckClaim",
    "AckSettings",
    "AckSigner",
    "AckTokenError",
    "ChannelConfig",
    "ChannelFile",
    "ChannelTemplates",
    "Escape",
    "FailoverChannel",
    "ForbiddenAddressError",
    "GuardedSocketFactory",
    "HeaderInjectionError",
    "MessageCopy",
    "PreparedMessage",
    "Provider",
    "ProviderConfig",
    "RateLimitedChannel",
    "Recipient",
    "Renderer",
    "Template",
    "WelshText",
    "channels_from_document",
    "check_url",
    "default_channels",
    "forbidden_reason",
    "marking_line",
    "parse_channels_toml",
    "read_channel_file",
]
