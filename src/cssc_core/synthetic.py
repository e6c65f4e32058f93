"""Deterministic synthetic networks in the ``cssc-network/1`` format, for tests, benchmarks and demos.

Everything in them is invented. Organisation and person names are made up; email addresses use the
domains reserved for examples (``example.org``, ``example.com``, ``example.net`` and their subdomains);
phone numbers come from the Ofcom ranges set aside for drama, which are never given to anyone. The same
arguments and seed always give the same document: all randomness comes from one seeded
:class:`random.Random`, whose sequences do not depend on the platform.

The documents leave out ``regions`` and ``sectors`` so that the reference data shipped with the package
applies; this module reads those two files and nothing else of the package.
"""

from __future__ import annotations

import bisect
import functools
import gc
import json
import math
import random
import re
import unicodedata
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date, timedelta
from importlib.resources import files
from itertools import accumulate
from typing import Any, NamedTuple, TypeVar

__all__ = [
    "CONTACT_CHANNEL_CHOICES",
    "PLACES",
    "REFERENCE_DATE",
    "NetworkBuilder",
    "Place",
    "synthetic_document",
]

REFERENCE_DATE = date(2019, 6, 12)
"""The day the synthetic networks describe; every joined and verified date lies on or before it."""

CONTACT_CHANNEL_CHOICES: tuple[tuple[str, ...], ...] = (
    ("email",),
    ("email", "sms"),
    ("sms", "email"),
    ("email", "webhook"),
)
"""The channel preferences synthetic contacts are given, most common first."""

_CHANNEL_ODDS = tuple(accumulate((50, 30, 10, 10)))


class Place(NamedTuple):
    """A town or district that synthetic organisations are scattered around.

    Attributes:
        name: The town's name, used in organisation names.
        region: The code of its CSSC region.
        county: Its county or council area, spelt as in the shipped ``regions.json``.
        lat: Latitude of its centre, in degrees.
        lon: Longitude of its centre, in degrees.
        radius_km: Organisations lie within this distance of the centre.
        districts: Postcode outward codes of the area (``NR1``).
        phone: A drama-range prefix in national format; three digits complete a number.
    """

    name: str
    region: str
    county: str
    lat: float
    lon: float
    radius_km: float
    districts: tuple[str, ...]
    phone: str


# Ofcom's drama ranges (a thousand numbers each) that phonenumbers accepts as valid numbers. Nottingham's
# 0115 496 0xxx and 01632 960xxx are drama ranges too, but phonenumbers rejects them, so they are not used.
_LONDON = "020 7946 0"
_LEEDS = "0113 496 0"
_SHEFFIELD = "0114 496 0"
_LEICESTER = "0116 496 0"
_BRISTOL = "0117 496 0"
_READING = "0118 496 0"
_BIRMINGHAM = "0121 496 0"
_EDINBURGH = "0131 496 0"
_GLASGOW = "0141 496 0"
_LIVERPOOL = "0151 496 0"
_MANCHESTER = "0161 496 0"
_NEWCASTLE = "0191 498 0"
_BELFAST = "028 9018 0"
_CARDIFF = "029 2018 0"

PLACES: tuple[Place, ...] = (
    Place("Norwich", "EAST", "Norfolk", 52.631, 1.297, 4, ("NR1", "NR2", "NR3", "NR4"), _LONDON),
    Place("King's Lynn", "EAST", "Norfolk", 52.752, 0.395, 3, ("PE30",), _LONDON),
    Place("Great Yarmouth", "EAST", "Norfolk", 52.608, 1.730, 3, ("NR30", "NR31"), _LONDON),
    Place("Ipswich", "EAST", "Suffolk", 52.057, 1.148, 4, ("IP1", "IP2", "IP3", "IP4"), _LONDON),
    Place("Bury St Edmunds", "EAST", "Suffolk", 52.246, 0.711, 3, ("IP32", "IP33"), _LONDON),
    Place("Cambridge", "EAST", "Cambridgeshire", 52.205, 0.122, 4, ("CB1", "CB2", "CB3", "CB4"), _LONDON),
    Place("Peterborough", "EAST", "Cambridgeshire", 52.569, -0.240, 4, ("PE1", "PE2", "PE3"), _LONDON),
    Place("Chelmsford", "EAST", "Essex", 51.736, 0.469, 4, ("CM1", "CM2"), _LONDON),
    Place("Colchester", "EAST", "Essex", 51.896, 0.892, 4, ("CO1", "CO2", "CO3"), _LONDON),
    Place("Southend-on-Sea", "EAST", "Essex", 51.546, 0.708, 3, ("SS1", "SS2"), _LONDON),
    Place("St Albans", "EAST", "Hertfordshire", 51.753, -0.339, 3, ("AL1", "AL3"), _LONDON),
    Place("Watford", "EAST", "Hertfordshire", 51.657, -0.390, 3, ("WD17", "WD18", "WD24"), _LONDON),
    Place("Bedford", "EAST", "Bedfordshire", 52.136, -0.467, 3, ("MK40", "MK41", "MK42"), _LONDON),
    Place("Luton", "EAST", "Bedfordshire", 51.879, -0.420, 3, ("LU1", "LU2"), _LONDON),
    Place("Reading", "SE", "Berkshire", 51.454, -0.978, 4, ("RG1", "RG2", "RG30"), _READING),
    Place("Oxford", "SE", "Oxfordshire", 51.752, -1.258, 4, ("OX1", "OX2", "OX4"), _READING),
    Place("Milton Keynes", "SE", "Buckinghamshire", 52.041, -0.759, 4, ("MK9", "MK10"), _READING),
    Place("Southampton", "SE", "Hampshire", 50.910, -1.404, 4, ("SO14", "SO15"), _READING),
    Place("Portsmouth", "SE", "Hampshire", 50.820, -1.088, 3, ("PO1", "PO2"), _READING),
    Place("Newport", "SE", "Isle of Wight", 50.701, -1.292, 3, ("PO30",), _READING),
    Place("Guildford", "SE", "Surrey", 51.236, -0.570, 3, ("GU1", "GU2"), _READING),
    Place("Brighton", "SE", "East Sussex", 50.822, -0.137, 3, ("BN1", "BN2"), _READING),
    Place("Crawley", "SE", "West Sussex", 51.109, -0.187, 3, ("RH10", "RH11"), _READING),
    Place("Canterbury", "SE", "Kent", 51.280, 1.079, 3, ("CT1", "CT2"), _READING),
    Place("Maidstone", "SE", "Kent", 51.270, 0.523, 3, ("ME14", "ME15"), _READING),
    Place("Dartford", "SE", "Kent", 51.446, 0.217, 3, ("DA1", "DA2", "DA9"), _READING),
    Place("Bristol", "SW", "Bristol", 51.455, -2.588, 4, ("BS1", "BS2", "BS8"), _BRISTOL),
    Place("Exeter", "SW", "Devon", 50.718, -3.534, 3, ("EX1", "EX2", "EX4"), _BRISTOL),
    Place("Plymouth", "SW", "Devon", 50.376, -4.143, 4, ("PL1", "PL4"), _BRISTOL),
    Place("Truro", "SW", "Cornwall", 50.263, -5.051, 3, ("TR1",), _BRISTOL),
    Place("Taunton", "SW", "Somerset", 51.015, -3.103, 3, ("TA1", "TA2"), _BRISTOL),
    Place("Bath", "SW", "Somerset", 51.381, -2.359, 3, ("BA1", "BA2"), _BRISTOL),
    Place("Bournemouth", "SW", "Dorset", 50.719, -1.881, 4, ("BH1", "BH2"), _BRISTOL),
    Place("Salisbury", "SW", "Wiltshire", 51.069, -1.794, 3, ("SP1", "SP2"), _BRISTOL),
    Place("Swindon", "SW", "Wiltshire", 51.556, -1.780, 3, ("SN1", "SN2"), _BRISTOL),
    Place("Gloucester", "SW", "Gloucestershire", 51.864, -2.238, 3, ("GL1", "GL2"), _BRISTOL),
    Place("Cardiff", "WALES", "Cardiff", 51.482, -3.179, 4, ("CF10", "CF11", "CF24"), _CARDIFF),
    Place("Swansea", "WALES", "Swansea", 51.621, -3.944, 4, ("SA1", "SA2"), _CARDIFF),
    Place("Newport", "WALES", "Newport", 51.584, -2.998, 3, ("NP19", "NP20"), _CARDIFF),
    Place("Bridgend", "WALES", "Bridgend", 51.504, -3.577, 3, ("CF31",), _CARDIFF),
    Place("Carmarthen", "WALES", "Carmarthenshire", 51.858, -4.312, 3, ("SA31",), _CARDIFF),
    Place("Aberystwyth", "WALES", "Ceredigion", 52.415, -4.083, 3, ("SY23",), _CARDIFF),
    Place("Llandrindod Wells", "WALES", "Powys", 52.241, -3.379, 3, ("LD1",), _CARDIFF),
    Place("Bangor", "WALES", "Gwynedd", 53.227, -4.129, 3, ("LL57",), _CARDIFF),
    Place("Llandudno", "WALES", "Conwy", 53.324, -3.828, 3, ("LL30",), _CARDIFF),
    Place("Wrexham", "WALES", "Wrexham", 53.046, -2.993, 3, ("LL11", "LL13"), _CARDIFF),
    Place("Leicester", "EMID", "Leicestershire", 52.637, -1.140, 4, ("LE1", "LE2", "LE3"), _LEICESTER),
    Place("Nottingham", "EMID", "Nottinghamshire", 52.955, -1.158, 4, ("NG1", "NG2", "NG7"), _LEICESTER),
    Place("Derby", "EMID", "Derbyshire", 52.922, -1.475, 4, ("DE1", "DE22", "DE23"), _LEICESTER),
    Place("Chesterfield", "EMID", "Derbyshire", 53.235, -1.421, 3, ("S40", "S41"), _LEICESTER),
    Place("Lincoln", "EMID", "Lincolnshire", 53.231, -0.541, 3, ("LN1", "LN2", "LN6"), _LEICESTER),
    Place("Northampton", "EMID", "Northamptonshire", 52.240, -0.903, 4, ("NN1", "NN2", "NN3"), _LEICESTER),
    Place("Oakham", "EMID", "Rutland", 52.670, -0.733, 2, ("LE15",), _LEICESTER),
    Place("Birmingham", "WMID", "West Midlands", 52.486, -1.890, 5, ("B1", "B2", "B3", "B4"), _BIRMINGHAM),
    Place("Coventry", "WMID", "West Midlands", 52.407, -1.520, 4, ("CV1", "CV2"), _BIRMINGHAM),
    Place("Wolverhampton", "WMID", "West Midlands", 52.587, -2.129, 4, ("WV1", "WV2"), _BIRMINGHAM),
    Place("Stoke-on-Trent", "WMID", "Staffordshire", 53.003, -2.179, 4, ("ST1", "ST4"), _BIRMINGHAM),
    Place("Stafford", "WMID", "Staffordshire", 52.807, -2.117, 3, ("ST16", "ST17"), _BIRMINGHAM),
    Place("Warwick", "WMID", "Warwickshire", 52.282, -1.585, 3, ("CV34",), _BIRMINGHAM),
    Place("Worcester", "WMID", "Worcestershire", 52.194, -2.222, 3, ("WR1", "WR5"), _BIRMINGHAM),
    Place("Hereford", "WMID", "Herefordshire", 52.056, -2.716, 3, ("HR1", "HR4"), _BIRMINGHAM),
    Place("Shrewsbury", "WMID", "Shropshire", 52.707, -2.755, 3, ("SY1", "SY2"), _BIRMINGHAM),
    Place("Newcastle upon Tyne", "NE", "Tyne and Wear", 54.978, -1.618, 4, ("NE1", "NE2", "NE4"), _NEWCASTLE),
    Place("Sunderland", "NE", "Tyne and Wear", 54.907, -1.384, 3, ("SR1", "SR2"), _NEWCASTLE),
    Place("Hexham", "NE", "Northumberland", 54.972, -2.101, 2, ("NE46",), _NEWCASTLE),
    Place("Durham", "NE", "County Durham", 54.776, -1.573, 3, ("DH1",), _NEWCASTLE),
    Place("Middlesbrough", "NE", "North Yorkshire", 54.574, -1.235, 3, ("TS1", "TS2"), _NEWCASTLE),
    Place("York", "NE", "North Yorkshire", 53.960, -1.087, 3, ("YO1", "YO10"), _LEEDS),
    Place("Leeds", "NE", "West Yorkshire", 53.801, -1.549, 4, ("LS1", "LS2", "LS11"), _LEEDS),
    Place("Bradford", "NE", "West Yorkshire", 53.796, -1.759, 3, ("BD1", "BD3"), _LEEDS),
    Place("Sheffield", "NE", "South Yorkshire", 53.381, -1.470, 4, ("S1", "S2", "S3"), _SHEFFIELD),
    Place("Hull", "NE", "East Riding of Yorkshire", 53.746, -0.337, 3, ("HU1", "HU2"), _LEEDS),
    Place("Manchester", "NW", "Greater Manchester", 53.481, -2.243, 4, ("M1", "M2", "M3", "M4"), _MANCHESTER),
    Place("Bolton", "NW", "Greater Manchester", 53.577, -2.428, 3, ("BL1",), _MANCHESTER),
    Place("Liverpool", "NW", "Merseyside", 53.408, -2.992, 4, ("L1", "L2", "L3"), _LIVERPOOL),
    Place("Chester", "NW", "Cheshire", 53.193, -2.893, 3, ("CH1", "CH2"), _LIVERPOOL),
    Place("Preston", "NW", "Lancashire", 53.763, -2.703, 3, ("PR1", "PR2"), _MANCHESTER),
    Place("Blackpool", "NW", "Lancashire", 53.818, -3.036, 3, ("FY1",), _MANCHESTER),
    Place("Carlisle", "NW", "Cumbria", 54.892, -2.933, 3, ("CA1", "CA3"), _MANCHESTER),
    Place("Kendal", "NW", "Cumbria", 54.328, -2.746, 2, ("LA9",), _MANCHESTER),
    Place("Glasgow", "SCOT", "Glasgow City", 55.864, -4.252, 4, ("G1", "G2", "G3", "G4", "G5"), _GLASGOW),
    Place("Edinburgh", "SCOT", "City of Edinburgh", 55.953, -3.188, 4, ("EH1", "EH2", "EH3"), _EDINBURGH),
    Place("Aberdeen", "SCOT", "Aberdeen City", 57.150, -2.094, 4, ("AB10", "AB11"), _EDINBURGH),
    Place("Dundee", "SCOT", "Dundee City", 56.462, -2.971, 3, ("DD1",), _EDINBURGH),
    Place("Perth", "SCOT", "Perth and Kinross", 56.395, -3.431, 3, ("PH1", "PH2"), _EDINBURGH),
    Place("Kirkcaldy", "SCOT", "Fife", 56.111, -3.167, 3, ("KY1", "KY2"), _EDINBURGH),
    Place("Inverness", "SCOT", "Highland", 57.478, -4.225, 3, ("IV1", "IV2"), _EDINBURGH),
    Place("Stirling", "SCOT", "Stirling", 56.117, -3.937, 3, ("FK8",), _GLASGOW),
    Place("Paisley", "SCOT", "Renfrewshire", 55.847, -4.440, 3, ("PA1", "PA3"), _GLASGOW),
    Place("Ayr", "SCOT", "South Ayrshire", 55.459, -4.629, 3, ("KA7", "KA8"), _GLASGOW),
    Place("Dumfries", "SCOT", "Dumfries and Galloway", 55.071, -3.605, 3, ("DG1",), _GLASGOW),
    Place("Belfast", "NI", "County Antrim", 54.597, -5.930, 4, ("BT1", "BT2", "BT7", "BT9"), _BELFAST),
    Place("Bangor", "NI", "County Down", 54.660, -5.669, 3, ("BT19", "BT20"), _BELFAST),
    Place("Newry", "NI", "County Down", 54.175, -6.340, 3, ("BT34", "BT35"), _BELFAST),
    Place("Derry", "NI", "County Londonderry", 54.997, -7.309, 3, ("BT47", "BT48"), _BELFAST),
    Place("Armagh", "NI", "County Armagh", 54.350, -6.653, 3, ("BT60", "BT61"), _BELFAST),
    Place("Enniskillen", "NI", "County Fermanagh", 54.344, -7.631, 3, ("BT74",), _BELFAST),
    Place("Omagh", "NI", "County Tyrone", 54.600, -7.300, 3, ("BT78", "BT79"), _BELFAST),
    Place(
        "Cheapside", "LDN", "City of London", 51.516, -0.092, 0.8, ("EC2V", "EC2M", "EC3V", "EC4M"), _LONDON
    ),
    Place("Westminster", "LDN", "Greater London", 51.498, -0.136, 2, ("SW1A", "SW1P", "W1B", "W1D"), _LONDON),
    Place("Camden", "LDN", "Greater London", 51.529, -0.126, 2, ("NW1", "WC1E", "WC1H"), _LONDON),
    Place("Southwark", "LDN", "Greater London", 51.504, -0.080, 2, ("SE1",), _LONDON),
    Place("Whitechapel", "LDN", "Greater London", 51.519, -0.060, 2, ("E1", "E2"), _LONDON),
    Place("Stratford", "LDN", "Greater London", 51.542, -0.003, 2, ("E15", "E20"), _LONDON),
    Place("Croydon", "LDN", "Greater London", 51.376, -0.098, 3, ("CR0",), _LONDON),
    Place("Wembley", "LDN", "Greater London", 51.556, -0.280, 2, ("HA9",), _LONDON),
    Place("Hammersmith", "LDN", "Greater London", 51.493, -0.224, 2, ("W6",), _LONDON),
)
"""The towns synthetic organisations are placed in, a handful in every region."""

_PLACES_BY_REGION = {
    region: tuple(place for place in PLACES if place.region == region)
    for region in {p.region for p in PLACES}
}

# Share of the organisations of a synthetic network in each region, after the regions' sizes in 2019.
_REGION_WEIGHTS = {
    "EAST": 14, "SE": 10, "SW": 8, "WALES": 6, "EMID": 7, "WMID": 9,
    "NE": 5, "NW": 10, "SCOT": 12, "NI": 4, "LDN": 15,
}  # fmt: skip
# When each region started taking members: Scotland before the 2014 Commonwealth Games, the rest at the
# national launch in June 2017, the North East a year later.
_LAUNCH = date(2017, 6, 1)
_REGION_LAUNCH = {"SCOT": date(2013, 6, 1), "NE": date(2018, 6, 1)}

# Common sectors are drawn more often than rare ones; any sector not named here weighs 1.
_SECTOR_WEIGHTS = {
    "retail": 10, "hospitality": 7, "faith": 6, "education": 6, "health": 5, "night-time-economy": 4,
    "property": 4, "transport": 4, "security": 4, "sport-and-leisure": 4, "tourism": 4, "entertainment": 3,
    "food": 3, "finance": 3, "construction": 3, "manufacturing": 3, "government": 2, "crowded-places": 2,
    "culture": 2, "emergency-services": 2, "communications": 2,
}  # fmt: skip
_STATUSES = ("active", "pending", "lapsed", "suspended")
_STATUS_ODDS = tuple(accumulate((85, 6, 7, 2)))
# How many sectors an organisation has, and how many contacts: one to three, 1.5 on average.
_COUNTS = (1, 2, 3)
_COUNT_ODDS = tuple(accumulate((6, 3, 1)))
# Tags an organisation gets from its sectors, and the chance of each tag on its own.
_SECTOR_TAGS = {"bids": "bid", "crowded-places": "crowded-place", "night-time-economy": "night-time-economy"}
_TAG_CHANCES = (("bid", 0.08), ("city-centre", 0.2), ("crowded-place", 0.12), ("mailroom", 0.1),
                ("night-time-economy", 0.06))  # fmt: skip

# Organisation names: {t} is the town, {p} a place word, {s} a saint, {n} and {m} family names.
_NAMES = {
    "bids": ("{t} City Centre BID", "{t} {p} BID", "{p} Quarter BID"),
    "chemicals": ("{p} Chemicals", "{n} Coatings", "{t} Speciality Chemicals"),
    "civil-nuclear": ("{p} Nuclear Services", "{p} Decommissioning Partnership"),
    "communications": ("{p} Telecom", "{t} Data Centre", "{p} Broadcasting"),
    "construction": ("{n} Construction", "{p} Builders", "{n} and {m} Contractors"),
    "crowded-places": ("{t} Arena", "{p} Exhibition Centre", "{t} Conference Centre", "{p} Square"),
    "culture": ("{t} Museum", "{p} Gallery", "{t} Central Library", "{p} Heritage Trust"),
    "defence": ("{p} Defence Systems", "{n} Aerospace"),
    "education": ("{p} Academy", "{t} College", "{p} Primary School", "St {s}'s High School"),
    "emergency-services": ("{t} Fire and Rescue Station", "{p} Ambulance Station", "{t} Lifeboat Station"),
    "energy": ("{p} Energy", "{p} Solar Farm", "{t} Power Station"),
    "entertainment": ("{p} Cinema", "{t} Playhouse", "{p} Bingo Hall", "{t} Comedy Club"),
    "faith": ("St {s}'s Church", "{t} Central Mosque", "{t} Synagogue", "{t} Gurdwara",
              "{p} Methodist Church", "{t} Hindu Temple"),
    "finance": ("{p} Building Society", "{n} Wealth Management", "{t} Credit Union"),
    "food": ("{p} Bakery", "{p} Dairies", "{t} Food Hall", "{n}'s Farm Shop"),
    "government": ("{t} Civic Centre", "{p} Council Offices", "{t} Register Office"),
    "health": ("{p} Medical Centre", "{p} Health Centre", "{t} Community Hospital", "{p} Pharmacy"),
    "hospitality": ("The {p} Hotel", "{p} Inn", "The {n} Arms", "{t} Grand Hotel"),
    "manufacturing": ("{n} Engineering", "{p} Precision Components", "{t} Print Works"),
    "night-time-economy": ("The {p} Bar", "{p} Nightclub", "The {n} Tavern"),
    "property": ("{n} Estates", "{p} House Management", "{p} Business Park"),
    "research": ("{p} Science Park", "{t} Research Institute", "{n} Laboratories"),
    "retail": ("{p} Shopping Centre", "{p} Retail Park", "{n}'s Department Store", "{t} Market Hall",
               "{p} Arcade"),
    "security": ("{p} Security Services", "{n} Guarding", "{t} Door Supervisors"),
    "space": ("{p} Space Systems", "{n} Satellite Services"),
    "sport-and-leisure": ("{t} Leisure Centre", "{p} Stadium", "{t} Rugby Club", "{p} Golf Club"),
    "tourism": ("{t} Visitor Centre", "{p} Castle", "{p} Caravan Park"),
    "transport": ("{t} Bus Station", "{p} Coaches", "{t} Interchange", "{p} Logistics"),
    "utilities": ("{p} Gas Networks", "{t} Electricity Depot", "{p} Waste Services"),
    "water": ("{p} Water Treatment Works", "{t} Reservoir", "{p} Water"),
}  # fmt: skip
_PLACE_WORDS = (
    "Riverside", "Kingsgate", "Abbeyfield", "Castlegate", "Millbrook", "Northgate", "Queensway",
    "Harbourside", "Foxhill", "Elmwood", "Brookfield", "Ashdown", "Westbury", "Oakridge", "Fairmead",
    "Greyfriars", "Moorside", "Parkway", "Stonebridge", "Willowbank", "Hawthorn", "Larkspur", "Cloverdale",
    "Eastgate", "Meadowbank", "Thornfield", "Kingsmead", "Bridgegate", "Priory", "Lakeside", "Hillcrest",
    "Beacon", "Southgate", "Highfield", "Fernside", "Orchard", "Wharfside", "Chapelfield",
)  # fmt: skip
_SAINTS = ("Aidan", "Andrew", "Bride", "Chad", "Columba", "David", "Edmund", "Giles", "Hilda", "Mungo",
           "Ninian", "Oswald", "Patrick", "Swithun", "Teilo", "Cuthbert")  # fmt: skip
_FAMILY = ("Ashworth", "Baxter", "Carver", "Dunmore", "Ellery", "Fairbairn", "Gresham", "Holloway", "Ingram",
           "Jessop", "Kendrick", "Lowther", "Marsh", "Norcott", "Oakes", "Pryce", "Quinlan", "Rowley",
           "Sadler", "Thorne", "Underwood", "Vickery", "Whitlock", "Yarrow")  # fmt: skip

_FIRST_NAMES = (
    "Sam", "Alex", "Priya", "Mohammed", "Olivia", "James", "Aisha", "Tom", "Hannah", "Daniel", "Chloe",
    "Ravi", "Grace", "Liam", "Fatima", "Oliver", "Emily", "Kwame", "Sophie", "Connor", "Zara", "Ben",
    "Niamh", "Hamish", "Ewan", "Morag", "Ciaran", "Aoife", "Jack", "Ruth", "Imran", "Leah", "Marcus",
    "Jo", "Harpreet", "Chen", "Mei", "Tariq", "Laura", "Patrick",
)  # fmt: skip
_LAST_NAMES = (
    "Smith", "Patel", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Khan", "Davies", "Evans",
    "Thomas", "Roberts", "Campbell", "Stewart", "Murray", "Hughes", "Walker", "Wright", "Green", "Hall",
    "Clarke", "Ahmed", "Begum", "Singh", "Edwards", "Robinson", "O'Neill", "McAllister", "Byrne", "Kelly",
    "Scott", "Young", "Morris", "Cooper", "Ward", "Price", "Lewis", "Reid", "Fraser", "Lloyd",
)  # fmt: skip
_WELSH_FIRST_NAMES = ("Rhys", "Siân", "Gethin", "Catrin", "Dafydd", "Eleri", "Owain", "Ffion", "Iwan",
                      "Nia", "Gwen", "Aled", "Llinos", "Emyr")  # fmt: skip
_WELSH_LAST_NAMES = ("Jones", "Williams", "Davies", "Evans", "Thomas", "Roberts", "Hughes", "Lewis",
                     "Morgan", "Griffiths", "Pritchard", "Llewellyn", "Bowen", "Parry")  # fmt: skip
_WELSH_SPEAKERS = 0.35  # share of contacts in Wales who take their messages in Welsh

_QUIET_HOURS = {"start": "22:00", "end": "07:00", "tz": "Europe/London"}
# A postcode's inward code is a digit and two letters, never C, I, K, M, O or V.
_INWARD_CODES = tuple(
    f"{digit}{a}{b}" for digit in range(10) for a in "ABDEFGHJLNPQRSTUWXYZ" for b in "ABDEFGHJLNPQRSTUWXYZ"
)
_KM_PER_DEGREE = 6371.0088 * math.pi / 180
_T = TypeVar("_T")
_ROLE_ORDER = {"hub": 0, "liaison": 1, "board": 2, "isl": 3}


@functools.cache
def _reference() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The region codes and sector codes of the shipped reference data, in file order."""
    data = files("cssc_core").joinpath("data")
    regions = json.loads(data.joinpath("regions.json").read_text("utf-8"))
    sectors = json.loads(data.joinpath("sectors.json").read_text("utf-8"))
    return tuple(region["code"] for region in regions), tuple(sector["code"] for sector in sectors)


@functools.cache
def _slug(text: str, separator: str = "-") -> str:
    """Lower-case ASCII letters and digits of ``text``, runs of anything else replaced by ``separator``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().replace("'", "")
    return re.sub(r"[^a-z0-9]+", separator, ascii_text.lower()).strip(separator)


class NetworkBuilder:
    """Builds a synthetic ``cssc-network/1`` document, one organisation or role at a time.

    All randomness comes from :attr:`rng`, so the same sequence of calls on a builder made with the same
    seed gives the same document.

    Attributes:
        rng: The builder's random source; callers may draw from it too and stay deterministic.
        organisations: The organisation objects made so far, in order.
        roles: The role objects made so far; :meth:`document` sorts them.
    """

    def __init__(self, seed: int = 0, *, unique_names: bool = False) -> None:
        """Starts an empty network.

        Args:
            seed: Seeds :attr:`rng`.
            unique_names: Give no two organisations in one county the same name, as a curated example
                would (elsewhere in the country a namesake is as plausible as it is in life).
        """
        self.rng = random.Random(seed)
        self.organisations: list[dict[str, Any]] = []
        self.roles: list[dict[str, Any]] = []
        self._unique_names = unique_names
        self._names: set[tuple[str, str]] = set()
        self._contacts = 0
        # Contact ids of active organisations by (region, sector) and by (region, None): the people
        # that roles may be given to.
        self._active: defaultdict[tuple[str, str | None], list[str]] = defaultdict(list)
        sectors = _reference()[1]
        self._sectors = sectors
        self._sector_odds = tuple(accumulate(_SECTOR_WEIGHTS.get(code, 1) for code in sectors))

    def organisation(
        self,
        where: str | Place,
        *,
        sectors: Sequence[str] = (),
        exclude_sectors: Collection[str] = (),
        tags: Sequence[str] | None = None,
        status: str | None = None,
        name: str | None = None,
        contacts: int | None = None,
    ) -> dict[str, Any]:
        """Adds an organisation with its contacts; anything not given is drawn at random.

        Args:
            where: A region code (the organisation goes to one of its :data:`PLACES`) or a place.
            sectors: Its sector codes; by default one to three drawn by weight.
            exclude_sectors: Sector codes never drawn for it.
            tags: Its tags; by default drawn at random. Tags that its sectors imply are always added.
            status: Its membership status; by default mostly ``active``.
            name: Its name; by default made up from its main sector and town.
            contacts: How many contacts it has; by default one to three, 1.5 on average.

        Returns:
            The organisation object, already part of the network.
        """
        rng = self.rng
        place = where if isinstance(where, Place) else _pick(rng, _PLACES_BY_REGION[where])
        chosen = list(sectors) or self._draw_sectors(exclude_sectors)
        status = status or _weighted(rng, _STATUSES, _STATUS_ODDS)
        name = name or self._draw_name(chosen[0], place)
        if tags is None:
            tags = [tag for tag, chance in _TAG_CHANCES if rng.random() < chance]
        since = _REGION_LAUNCH.get(place.region, _LAUNCH)
        if status == "pending":
            since = max(since, REFERENCE_DATE - timedelta(days=60))  # applications are decided within weeks
        joined = since + timedelta(days=rng.randrange((REFERENCE_DATE - since).days + 1))
        org_id = f"org-{len(self.organisations) + 1:06d}"
        domain = f"{_slug(name)[:40].rstrip('-')}.example.{_pick(rng, ('org', 'com', 'net'))}"
        taken: set[str] = set()
        count = _weighted(rng, _COUNTS, _COUNT_ODDS) if contacts is None else contacts
        people = [self._contact(place, domain, joined, taken) for _ in range(count)]
        organisation = {
            "id": org_id,
            "name": name,
            "region": place.region,
            "sectors": sorted(chosen),
            "location": self._location(place),
            "tags": sorted({*tags, *(_SECTOR_TAGS[code] for code in chosen if code in _SECTOR_TAGS)}),
            "membership": {"status": status, "joined": joined.isoformat()},
            "contacts": people,
        }
        self.organisations.append(organisation)
        if status == "active":
            ids = [person["id"] for person in people]
            self._active[place.region, None].extend(ids)
            for code in chosen:
                self._active[place.region, code].extend(ids)
        return organisation

    def pick_contact(self, region: str, sector: str | None = None) -> str | None:
        """A random contact of an active organisation of ``region`` (with ``sector``), or None if none."""
        candidates = self._active.get((region, sector))
        return _pick(self.rng, candidates) if candidates else None

    def add_isls(self, region: str, *, coverage: float, deputies: int = 2, total: int | None = None) -> None:
        """Appoints ISLs in the region's cells from the contacts of active organisations of each cell.

        Args:
            region: The region code.
            coverage: The chance that a cell gets ISLs at all; the others are left as coverage gaps.
            deputies: Without ``total``, each covered cell gets a lead and up to this many deputies.
            total: The exact number of ISL roles to share out over the covered cells instead, one cell
                at a time in sector order, so that cells end up within one ISL of each other where they
                have the people.

        Raises:
            ValueError: The covered cells have too few contacts for ``total``.
        """
        cells = [
            (code, self._active[region, code]) for code in self._sectors if (region, code) in self._active
        ]
        covered = [cell for cell in cells if self.rng.random() < coverage]
        if total is None:
            sizes = [min(len(people), 1 + self.rng.randint(0, deputies)) for _, people in covered]
        else:
            sizes = _share(total, [len(people) for _, people in covered])
        for (sector, people), size in zip(covered, sizes, strict=True):
            for rank, contact in enumerate(self.rng.sample(people, size), start=1):
                self.roles.append(
                    {"role": "isl", "region": region, "sector": sector, "contact": contact, "rank": rank}
                )

    def document(self) -> dict[str, Any]:
        """The network as a ``cssc-network/1`` document, its roles sorted by kind, region, sector and rank.

        The document shares its organisation objects with the builder.
        """
        regions = {code: index for index, code in enumerate(_reference()[0])}

        def order(role: dict[str, Any]) -> tuple[int, int, str, int, str]:
            region = -1 if role["region"] is None else regions[role["region"]]
            return (
                _ROLE_ORDER[role["role"]],
                region,
                role.get("sector", ""),
                role.get("rank", 0),
                role["contact"],
            )

        return {
            "format": "cssc-network/1",
            "organisations": self.organisations,
            "roles": sorted(self.roles, key=order),
        }

    def _draw_sectors(self, exclude: Collection[str]) -> list[str]:
        count = _weighted(self.rng, _COUNTS, _COUNT_ODDS)
        chosen: list[str] = []
        while len(chosen) < count:
            code = _weighted(self.rng, self._sectors, self._sector_odds)
            if code not in chosen and code not in exclude:
                chosen.append(code)
        return chosen

    def _draw_name(self, sector: str, place: Place) -> str:
        rng = self.rng
        # Retries are bounded: a small county may run out of fresh names for a sector, and a repeated
        # name is better than no network.
        for _ in range(30):
            name = _pick(rng, _NAMES[sector]).format(
                t=place.name,
                p=_pick(rng, _PLACE_WORDS),
                s=_pick(rng, _SAINTS),
                n=_pick(rng, _FAMILY),
                m=_pick(rng, _FAMILY),
            )
            if not self._unique_names or (name, place.county) not in self._names:
                break
        self._names.add((name, place.county))
        return name

    def _location(self, place: Place) -> dict[str, Any]:
        rng = self.rng
        # The square root spreads points evenly over the disc instead of bunching them at its centre.
        distance = place.radius_km * math.sqrt(rng.random())
        bearing = rng.random() * math.tau
        lat = place.lat + distance * math.cos(bearing) / _KM_PER_DEGREE
        lon = place.lon + distance * math.sin(bearing) / (_KM_PER_DEGREE * math.cos(math.radians(place.lat)))
        return {
            "lat": round(lat, 5),
            "lon": round(lon, 5),
            "postcode": f"{_pick(rng, place.districts)} {_pick(rng, _INWARD_CODES)}",
            "county": place.county,
        }

    def _contact(self, place: Place, domain: str, joined: date, taken: set[str]) -> dict[str, Any]:
        rng = self.rng
        self._contacts += 1
        contact_id = f"c-{self._contacts:07d}"
        welsh = place.region == "WALES" and rng.random() < _WELSH_SPEAKERS
        first = _pick(rng, _WELSH_FIRST_NAMES if welsh else _FIRST_NAMES)
        last = _pick(rng, _WELSH_LAST_NAMES if welsh else _LAST_NAMES)
        channels = _weighted(rng, CONTACT_CHANNEL_CHOICES, _CHANNEL_ODDS)
        has_phone = "sms" in channels or rng.random() < 0.5
        mailbox = f"{_slug(first, '.')}.{_slug(last, '.')}"
        if mailbox in taken:
            mailbox += str(len(taken) + 1)  # two namesakes at one organisation
        taken.add(mailbox)
        contact: dict[str, Any] = {
            "id": contact_id,
            "name": f"{first} {last}",
            "email": f"{mailbox}@{domain}",
            "phone": f"{place.phone}{rng.randrange(1000):03d}" if has_phone else None,
            "webhook": f"https://hooks.example.org/cssc/{contact_id}" if "webhook" in channels else None,
            "channels": list(channels),
            "language": "cy" if welsh else "en",
            "quiet_hours": dict(_QUIET_HOURS) if rng.random() < 0.12 else None,
        }
        # Contacts last confirmed their details some time in the two years before the reference date (and
        # after joining), so about a third are stale; a few never confirmed them at all.
        if rng.random() >= 0.08:
            since = max(joined, REFERENCE_DATE - timedelta(days=730))
            contact["verified"] = (
                since + timedelta(days=rng.randrange((REFERENCE_DATE - since).days + 1))
            ).isoformat()
        if rng.random() < 0.004:
            contact["test"] = True
        return contact


def _pick(rng: random.Random, items: Sequence[_T]) -> _T:
    """One item drawn uniformly, as ``random.choice`` would, at less cost."""
    return items[int(rng.random() * len(items))]


def _weighted(rng: random.Random, population: Sequence[_T], odds: Sequence[int]) -> _T:
    """One item drawn with cumulative weights ``odds``, as ``random.choices`` would, at less cost."""
    return population[bisect.bisect(odds, rng.random() * odds[-1])]


def _share(total: int, capacities: Sequence[int]) -> list[int]:
    """Deals ``total`` out over slots one at a time, round after round, never beyond a slot's capacity."""
    sizes = [0] * len(capacities)
    while total:
        open_slots = [index for index, capacity in enumerate(capacities) if sizes[index] < capacity]
        if not open_slots:
            raise ValueError("not enough contacts in the covered cells for that many ISLs")
        for index in open_slots[:total]:
            sizes[index] += 1
        total -= min(total, len(open_slots))
    return sizes


def synthetic_document(
    organisations: int, *, seed: int = 0, regions: Collection[str] | None = None
) -> dict[str, Any]:
    """Makes a random but reproducible ``cssc-network/1`` document.

    The network has about 1.5 contacts per organisation; ISLs (a lead and up to two deputies) in about
    three cells in four, so that coverage gaps exist; a hub and a police liaison in every region with
    active members; a national hub; and a few regional board members.

    Args:
        organisations: How many organisations to make.
        seed: The random seed; the same arguments always give the same document.
        regions: Region codes to put organisations in (default: all eleven), spread by region size.

    Returns:
        The document as plain dicts and lists, without ``regions`` and ``sectors`` so that the shipped
        reference data applies.

    Raises:
        ValueError: An unknown region code.
    """
    all_regions = _reference()[0]
    unknown = set(regions or ()) - set(all_regions)
    if unknown:
        raise ValueError(f"unknown region codes: {', '.join(sorted(unknown))}")
    codes = [code for code in all_regions if regions is None or code in regions]
    builder = NetworkBuilder(seed)
    # Left on, the collector runs hundreds of times over the growing document looking for reference
    # cycles that plain nested dicts and lists never form, which doubles the time for a large network.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for region in builder.rng.choices(codes, [_REGION_WEIGHTS[code] for code in codes], k=organisations):
            builder.organisation(region)
    finally:
        if collecting:
            gc.enable()

    # The national hub sits in London when London has members.
    national = next(filter(None, (builder.pick_contact(code) for code in ("LDN", *codes))), None)
    if national is not None:
        builder.roles.append({"role": "hub", "region": None, "contact": national})
    for code in codes:
        hub = builder.pick_contact(code)
        if hub is None:
            continue  # a region without active members has nobody to staff it
        builder.roles.append({"role": "hub", "region": code, "contact": hub})
        liaison = builder.pick_contact(code, "emergency-services") or hub
        builder.roles.append({"role": "liaison", "region": code, "contact": liaison})
        builder.add_isls(code, coverage=0.75)
    for code in builder.rng.sample(codes, min(3, len(codes))):
        for portfolio in ("chair", "finance"):
            member = builder.pick_contact(code)
            if member is not None:
                builder.roles.append(
                    {"role": "board", "region": code, "portfolio": portfolio, "contact": member}
                )
    return builder.document()
