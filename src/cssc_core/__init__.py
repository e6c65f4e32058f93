"""cssc_core: the engine under a cross-sector security partnership network.

The public API is re-exported here; implementations live in the modules named in each docstring.
"""

from cssc_core.domain.models import (
    BoardRole,
    Contact,
    HubRole,
    IslRole,
    Language,
    LiaisonRole,
    Location,
    Membership,
    MembershipStatus,
    Organisation,
    QuietHours,
    Region,
    Role,
    Sector,
)
from cssc_core.domain.network import Cell, Network
from cssc_core.errors import CsscError, NotFoundError, Problem, ValidationError
from cssc_core.formats.csv import dumps_network_csv, parse_network_csv
from cssc_core.formats.network import (
    NETWORK_FORMAT,
    dumps_network_json,
    dumps_network_toml,
    network_from_document,
    network_to_document,
    parse_network_json,
    parse_network_toml,
    read_network_file,
)
from cssc_core.reference import reference_regions, reference_sectors

__all__ = [
    "NETWORK_FORMAT",
    "BoardRole",
    "Cell",
    "Contact",
    "CsscError",
    "HubRole",
    "IslRole",
    "Language",
    "LiaisonRole",
    "Location",
    "Membership",
    "MembershipStatus",
    "Network",
    "NotFoundError",
    "Organisation",
    "Problem",
    "QuietHours",
    "Region",
    "Role",
    "Sector",
    "ValidationError",
    "dumps_network_csv",
    "dumps_network_json",
    "dumps_network_toml",
    "network_from_document",
    "network_to_document",
    "parse_network_csv",
    "parse_network_json",
    "parse_network_toml",
    "read_network_file",
    "reference_regions",
    "reference_sectors",
]
