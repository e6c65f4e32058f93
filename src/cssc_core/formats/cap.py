"""CAP 1.2 XML in and out (OASIS Common Alerting Protocol), mapped onto :class:`Message`.

Parsing goes through defusedxml with document type declarations forbidden: CAP never needs one, and
refusing them outright stops entity expansion ("billion laughs") and external entities alike.

The mapping, both ways (``docs/routing.md`` has the full table):

- ``identifier``, ``sender``, ``sent`` -> ``id``, ``sender``, ``sent``; ``status`` ``Actual``,
  ``Exercise``, ``Test`` and ``msgType`` ``Alert``, ``Update``, ``Cancel`` -> lower case (``System``,
  ``Draft``, ``Ack`` and ``Error`` are refused). ``references`` triples ``sender,identifier,sent`` ->
  the identifiers.
- The marking is the first ``code`` that starts with ``TLP:``, else a ``restriction`` that does;
  without either, ``scope`` ``Public`` means ``TLP:CLEAR`` and anything else is refused. Written: one
  ``code``, with ``scope`` ``Public`` for ``TLP:CLEAR`` and ``Restricted`` (the marking as the
  ``restriction``) otherwise.
- The first ``info`` in English (or without a language) gives ``category`` (its first), ``urgency``,
  ``severity``, ``certainty``, ``expires``, ``headline`` (``event`` when there is no headline),
  ``description`` -> ``body`` and ``instruction``; an ``info`` in Welsh (``cy``) gives the Welsh block.
- Each ``area`` of that ``info`` gives one audience area per ``circle`` (``lat,lon radius_km``),
  ``polygon`` (``lat,lon lat,lon ...``, closed: the repeated first point is dropped) and ``geocode``
  whose ``valueName`` is ``county`` or ``postcode_district``; other geocodes are refused, because
  ignoring them would widen the audience.
- ``parameter`` entries named ``cssc:region``, ``cssc:sector``, ``cssc:tag``, ``cssc:organisation``
  and ``cssc:contact`` carry the rest of the audience, one value each; other parameters are ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TypeVar
from xml.etree.ElementTree import Element, ParseError, SubElement, indent, tostring

import defusedxml
import defusedxml.ElementTree

from cssc_core.domain import fields
from cssc_core.domain.marking import Marking
from cssc_core.domain.message import (
    Area,
    Audience,
    Category,
    Certainty,
    Circle,
    County,
    LanguageBlock,
    Message,
    MessageType,
    Polygon,
    PostcodeDistrict,
    Severity,
    Status,
    Urgency,
)
from cssc_core.errors import Problem, ValidationError
from cssc_core.formats._documents import MAX_DOCUMENT_BYTES, check_size
from cssc_core.formats.message import (
    MESSAGE_FORMAT,
    message_from_document,
    message_problems,
    message_to_document,
)

__all__ = ["CAP_NAMESPACE", "dumps_cap_xml", "parse_cap_xml"]

CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
_NS = f"{{{CAP_NAMESPACE}}}"
_AUDIENCE_PARAMETERS = {
    "cssc:region": "regions",
    "cssc:sector": "sectors",
    "cssc:tag": "tags",
    "cssc:organisation": "organisations",
    "cssc:contact": "contacts",
}
_CATEGORY_NAMES = {"cbrne": "CBRNE", "env": "Env"}
E = TypeVar("E", Status, MessageType, Category, Urgency, Severity, Certainty)


class _Reader:
    """Reads one CAP document, collecting problems with their paths instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def text(
        self, element: Element, name: str, path: str, *, required: bool = True, free: bool = False
    ) -> str | None:
        """A child element's text; coded values are stripped, free text (``free``) is kept as written."""
        child = element.find(_NS + name)
        value = None if child is None or child.text is None else child.text
        if value is None or not value.strip():
            if required:
                self.problems.append(Problem(f"{path}.{name}", "required element missing"))
            return None
        return value if free else value.strip()

    def checked(self, value: str | None, path: str, check: Callable[[str], str]) -> str | None:
        if value is None:
            return None
        try:
            return check(value)
        except ValueError as error:
            self.problems.append(Problem(path, str(error)))
            return None

    def enum(self, element: Element, name: str, path: str, kind: type[E]) -> E | None:
        value = self.text(element, name, path)
        if value is None:
            return None
        try:
            return kind(value.lower())
        except ValueError:
            allowed = ", ".join(_cap_spelling(member) for member in kind)
            self.problems.append(Problem(f"{path}.{name}", f"{fields.clip(value)} is not one of {allowed}"))
            return None

    def datetime(self, element: Element, name: str, path: str, *, required: bool = True) -> datetime | None:
        value = self.text(element, name, path, required=required)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is None or moment.utcoffset() is None:
            self.problems.append(
                Problem(f"{path}.{name}", f"{fields.clip(value)} is not a CAP date-time with an offset")
            )
            return None
        try:
            return fields.check_instant(moment)
        except ValueError as error:
            self.problems.append(Problem(f"{path}.{name}", str(error)))
            return None


def _cap_spelling(value: str) -> str:
    return _CATEGORY_NAMES.get(value, value.capitalize())


def _parse_xml(raw: str | bytes, source: str | None) -> Element:
    check_size(len(raw), MAX_DOCUMENT_BYTES, source)
    try:
        root: Element = defusedxml.ElementTree.fromstring(raw, forbid_dtd=True)
    except defusedxml.DTDForbidden:
        raise ValidationError.single(
            "$", "a document type declaration is not allowed in CAP", source
        ) from None
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
        raise ValidationError.single("$", "entity declarations are not allowed in CAP", source) from None
    except ParseError as error:
        raise ValidationError.single("$", f"not well-formed XML ({error})", source) from None
    if root.tag != _NS + "alert":
        raise ValidationError.single("$", f"not a CAP 1.2 alert (the root is {root.tag})", source)
    return root


def parse_cap_xml(raw: str | bytes, *, source: str | None = None) -> Message:
    """Reads a message from a CAP 1.2 ``alert`` document.

    Raises:
        ValidationError: for hostile or malformed XML, and listing every problem of the alert.
    """
    root = _parse_xml(raw, source)
    reader = _Reader()
    path = "$.alert"
    identifier = reader.checked(
        reader.text(root, "identifier", path), f"{path}.identifier", fields.check_identifier
    )
    sender = reader.checked(reader.text(root, "sender", path), f"{path}.sender", fields.check_text)
    sent = reader.datetime(root, "sent", path)
    status = reader.enum(root, "status", path, Status)
    kind = reader.enum(root, "msgType", path, MessageType)
    marking = _marking(root, path, reader)
    references = _references(
        reader.text(root, "references", path, required=False), f"{path}.references", reader
    )

    infos = root.findall(_NS + "info")
    main = next((i for i in infos if _language(i).startswith("en") or not _language(i)), None)
    welsh = next((i for i in infos if _language(i).split("-")[0] == "cy"), None)
    info_path = f"{path}.info[{infos.index(main) if main is not None else 0}]"
    if main is None:
        reader.problems.append(Problem(f"{path}.info", "an info block in English is required"))
        main = Element(_NS + "info")
    category_text = reader.text(main, "category", info_path)
    category = None
    if category_text is not None:
        try:
            category = Category(category_text.lower())
        except ValueError:
            reader.problems.append(
                Problem(f"{info_path}.category", f"{fields.clip(category_text)} is not a CAP category")
            )
    urgency = reader.enum(main, "urgency", info_path, Urgency)
    severity = reader.enum(main, "severity", info_path, Severity)
    certainty = reader.enum(main, "certainty", info_path, Certainty)
    expires = reader.datetime(main, "expires", info_path, required=False)
    headline = _headline(main, info_path, reader)
    languages = {}
    if welsh is not None:
        welsh_path = f"{path}.info[{infos.index(welsh)}]"
        welsh_headline = _headline(welsh, welsh_path, reader)
        if welsh_headline is not None:
            languages["cy"] = LanguageBlock(
                headline=welsh_headline,
                body=reader.text(welsh, "description", welsh_path, required=False, free=True),
                instruction=reader.text(welsh, "instruction", welsh_path, required=False, free=True),
            )
    audience = _audience(main, info_path, reader)

    if reader.problems:
        raise ValidationError(reader.problems, source)
    # With no problems recorded, every required value was read.
    assert identifier is not None
    assert sender is not None
    assert sent is not None
    assert status is not None
    assert kind is not None
    assert marking is not None
    assert category is not None
    assert urgency is not None
    assert severity is not None
    assert certainty is not None
    assert headline is not None
    message = Message(
        id=identifier,
        sender=sender,
        sent=sent,
        status=status,
        type=kind,
        marking=marking,
        category=category,
        urgency=urgency,
        severity=severity,
        certainty=certainty,
        headline=headline,
        body=reader.text(main, "description", info_path, required=False, free=True),
        instruction=reader.text(main, "instruction", info_path, required=False, free=True),
        expires=expires,
        references=references,
        languages=languages,
        audience=audience,
    )
    problems = [Problem(p.path.replace("$.", f"{path}.", 1), p.message) for p in message_problems(message)]
    if problems:
        raise ValidationError(problems, source)
    # What CAP accepts is stored as cssc-message/1 and read back from there: the canonical reader
    # must accept it too, or a stored message could not be read again.
    try:
        message_from_document(message_to_document(message))
    except ValidationError as error:
        raise ValidationError(
            [Problem(f"{path} (as {MESSAGE_FORMAT}) {p.path}", p.message) for p in error.problems], source
        ) from None
    return message


def _language(info: Element) -> str:
    child = info.find(_NS + "language")
    return (child.text or "").strip().lower() if child is not None else ""


def _headline(info: Element, path: str, reader: _Reader) -> str | None:
    headline = reader.text(info, "headline", path, required=False, free=True) or reader.text(
        info, "event", path
    )
    return reader.checked(headline, f"{path}.headline", fields.check_text)


def _marking(root: Element, path: str, reader: _Reader) -> Marking | None:
    candidates = [(f"{path}.code", (c.text or "").strip()) for c in root.findall(_NS + "code")]
    candidates.append((f"{path}.restriction", reader.text(root, "restriction", path, required=False) or ""))
    for where, value in candidates:
        if value.upper().startswith("TLP:"):
            try:
                return Marking(value.upper())
            except ValueError:
                reader.problems.append(Problem(where, f"{fields.clip(value)} is not a TLP 2.0 marking"))
                return None
    if reader.text(root, "scope", path) == "Public":
        return Marking.CLEAR
    reader.problems.append(Problem(f"{path}.code", "a restricted alert needs its TLP marking as a code"))
    return None


def _references(value: str | None, path: str, reader: _Reader) -> tuple[str, ...]:
    if value is None:
        return ()
    identifiers = []
    for triple in value.split():
        parts = triple.split(",")
        if len(parts) != 3 or not parts[1]:
            reader.problems.append(
                Problem(path, f"{fields.clip(triple)} is not a sender,identifier,sent triple")
            )
            continue
        identifier = reader.checked(parts[1], path, fields.check_identifier)
        if identifier is not None:
            identifiers.append(identifier)
    return tuple(identifiers)


def _audience(info: Element, path: str, reader: _Reader) -> Audience:
    selectors: dict[str, list[str]] = {name: [] for name in _AUDIENCE_PARAMETERS.values()}
    for index, parameter in enumerate(info.findall(_NS + "parameter")):
        name = (parameter.findtext(_NS + "valueName") or "").strip()
        value = (parameter.findtext(_NS + "value") or "").strip()
        if name in _AUDIENCE_PARAMETERS and value:
            # Tags are free text; the other selectors name ids, checked as the JSON format checks them.
            check = fields.check_text if name == "cssc:tag" else fields.check_identifier
            checked = reader.checked(value, f"{path}.parameter[{index}].value", check)
            if checked is not None:
                selectors[_AUDIENCE_PARAMETERS[name]].append(checked)
    areas: list[Area] = []
    for index, area in enumerate(info.findall(_NS + "area")):
        found = _areas(area, f"{path}.area[{index}]", reader)
        if not any(area.find(_NS + kind) is not None for kind in ("circle", "polygon", "geocode")):
            reader.problems.append(
                Problem(f"{path}.area[{index}]", "no circle, polygon or county/postcode_district geocode")
            )
        areas.extend(found)
    return Audience(areas=tuple(areas), **{name: tuple(values) for name, values in selectors.items()})


def _areas(area: Element, path: str, reader: _Reader) -> list[Area]:
    areas: list[Area] = []
    for index, polygon in enumerate(area.findall(_NS + "polygon")):
        try:
            points = [_point(pair) for pair in (polygon.text or "").split()]
            if len(points) > 3 and points[0] == points[-1]:
                points.pop()
            if len(points) < 3:
                raise ValueError("a polygon needs at least three points")
            areas.append(Polygon(tuple(points)))
        except ValueError as error:
            reader.problems.append(Problem(f"{path}.polygon[{index}]", str(error)))
    for index, circle in enumerate(area.findall(_NS + "circle")):
        try:
            centre, radius = (circle.text or "").split()
            lat, lon = _point(centre)
            radius_km = float(radius)
            if not radius_km >= 0 or radius_km == float("inf"):
                raise ValueError(f"radius {radius} must be a number of kilometres, 0 or more")
            areas.append(Circle(lat, lon, radius_km))
        except ValueError as error:
            reader.problems.append(Problem(f"{path}.circle[{index}]", f"{fields.clip(circle.text)}: {error}"))
    for index, geocode in enumerate(area.findall(_NS + "geocode")):
        name = (geocode.findtext(_NS + "valueName") or "").strip()
        value = (geocode.findtext(_NS + "value") or "").strip()
        where = f"{path}.geocode[{index}].value"
        if name == "county" and value:
            county = reader.checked(value, where, fields.check_text)
            if county is not None:
                areas.append(County(county))
        elif name == "postcode_district" and value:
            district = reader.checked(value, where, fields.normalise_postcode_district)
            if district is not None:
                areas.append(PostcodeDistrict(district))
        else:
            reader.problems.append(
                Problem(
                    f"{path}.geocode[{index}]",
                    f"geocode {name!r} is not understood (use county or postcode_district)",
                )
            )
    return areas


def _point(pair: str) -> tuple[float, float]:
    try:
        lat_text, lon_text = pair.split(",")
        return fields.check_latitude(float(lat_text)), fields.check_longitude(float(lon_text))
    except ValueError as error:
        raise ValueError(f"{pair!r} is not a lat,lon point ({error})") from None


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _add(parent: Element, name: str, text: str | None) -> None:
    if text is not None:
        SubElement(parent, _NS + name).text = text


def _area_element(info: Element, area: Area) -> None:
    element = SubElement(info, _NS + "area")
    if isinstance(area, Circle):
        _add(element, "areaDesc", f"within {area.radius_km!r} km of {area.lat!r},{area.lon!r}")
        _add(element, "circle", f"{area.lat!r},{area.lon!r} {area.radius_km!r}")
    elif isinstance(area, Polygon):
        _add(element, "areaDesc", "polygon")
        points = (*area.points, area.points[0])
        _add(element, "polygon", " ".join(f"{lat!r},{lon!r}" for lat, lon in points))
    else:
        name, value = ("county", area.name) if isinstance(area, County) else ("postcode_district", area.code)
        _add(element, "areaDesc", f"{name.replace('_', ' ')} {value}")
        geocode = SubElement(element, _NS + "geocode")
        _add(geocode, "valueName", name)
        _add(geocode, "value", value)


def _info(alert: Element, message: Message, language: str, block: LanguageBlock) -> None:
    info = SubElement(alert, _NS + "info")
    _add(info, "language", language)
    _add(info, "category", _cap_spelling(message.category))
    _add(info, "event", _cap_spelling(message.category))
    for name in ("urgency", "severity", "certainty"):
        _add(info, name, _cap_spelling(getattr(message, name)))
    if message.expires is not None:
        _add(info, "expires", _timestamp(message.expires))
    _add(info, "headline", block.headline)
    _add(info, "description", block.body)
    _add(info, "instruction", block.instruction)
    audience = message.audience
    for name, selector in _AUDIENCE_PARAMETERS.items():
        for value in getattr(audience, selector):
            parameter = SubElement(info, _NS + "parameter")
            _add(parameter, "valueName", name)
            _add(parameter, "value", value)
    for area in audience.areas:
        _area_element(info, area)


def dumps_cap_xml(message: Message, *, references: Mapping[str, tuple[str, datetime]] | None = None) -> str:
    """The message as a CAP 1.2 ``alert`` document.

    Args:
        message: The message.
        references: The sender and sent time of each referenced message, by id, for the CAP
            ``references`` triples; a reference missing here is written with this message's sender
            and sent time.
    """
    alert = Element(_NS + "alert")
    _add(alert, "identifier", message.id)
    _add(alert, "sender", message.sender)
    _add(alert, "sent", _timestamp(message.sent))
    _add(alert, "status", _cap_spelling(message.status))
    _add(alert, "msgType", _cap_spelling(message.type))
    public = message.marking is Marking.CLEAR
    _add(alert, "scope", "Public" if public else "Restricted")
    if not public:
        _add(alert, "restriction", str(message.marking))
    _add(alert, "code", str(message.marking))
    if message.references:
        known = references or {}
        triples = []
        for identifier in message.references:
            sender, sent = known.get(identifier, (message.sender, message.sent))
            triples.append(f"{sender},{identifier},{_timestamp(sent)}")
        _add(alert, "references", " ".join(triples))
    main = LanguageBlock(message.headline, message.body, message.instruction)
    _info(alert, message, "en-GB", main)
    for code, block in message.languages.items():
        _info(alert, message, code, block)
    indent(alert)
    text: str = tostring(alert, encoding="unicode", default_namespace=CAP_NAMESPACE)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n"
