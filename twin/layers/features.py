"""OGC API Features documents: landing page, conformance, collections, queryables, item pages, HTML.

Pure: these functions take what the queries returned and the request's base URL and give back JSON
documents (or HTML); twin.api.routers.features wires them to HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape

from twin.errors import InvalidInput
from twin.layers.cql import category
from twin.layers.params import SUPPORTED_CRS, queryables
from twin.layers.queries import Extent
from twin.layers.registry import COLLECTIONS, Collection

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA = "application/schema+json"

_OGC = "http://www.opengis.net/spec/"
CONFORMANCE = [
    f"{_OGC}ogcapi-features-1/1.0/conf/core",
    f"{_OGC}ogcapi-features-1/1.0/conf/geojson",
    f"{_OGC}ogcapi-features-1/1.0/conf/html",
    f"{_OGC}ogcapi-features-1/1.0/conf/oas30",
    f"{_OGC}ogcapi-features-2/1.0/conf/crs",
    f"{_OGC}ogcapi-features-3/1.0/conf/filter",
    f"{_OGC}ogcapi-features-3/1.0/conf/features-filter",
    f"{_OGC}ogcapi-features-3/1.0/conf/queryables",
    f"{_OGC}ogcapi-features-3/1.0/conf/queryables-query-parameters",
    f"{_OGC}cql2/1.0/conf/cql2-text",
    f"{_OGC}cql2/1.0/conf/cql2-json",
    f"{_OGC}cql2/1.0/conf/basic-cql2",
    f"{_OGC}cql2/1.0/conf/basic-spatial-functions",
    f"{_OGC}cql2/1.0/conf/spatial-functions",
    f"{_OGC}cql2/1.0/conf/case-insensitive-comparison",
    f"{_OGC}ogcapi-features-5/1.0/conf/sortables",
    f"{_OGC}ogcapi-features-5/1.0/conf/sorting",
    f"{_OGC}ogcapi-features-6/1.0/conf/properties",
]
_SCHEMA_TYPES = {"number": "number", "string": "string", "boolean": "boolean"}

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "html"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def wants_html(f: str | None, accept: str) -> bool:
    """True for f=html, or no f and a browser's Accept header; 400 for an unknown f."""
    if f is None:
        return HTML in accept
    if f not in ("json", "geojson", "html"):
        raise InvalidInput(f"f={f!r} is not offered; use f=json or f=html", field="f")
    return f == "html"


def link(href: str, rel: str, type_: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": type_, "title": title}


def _self_and_alternate(url: str, json_type: str = JSON) -> list[dict[str, str]]:
    return [
        link(f"{url}?f=json", "self", json_type, "this document"),
        link(f"{url}?f=html", "alternate", HTML, "this document as HTML"),
    ]


def landing(base: str) -> dict[str, Any]:
    return {
        "title": "Campus Twin",
        "description": "GIS and 3D digital-twin server for school safety (OGC API - Features)",
        "links": [
            *_self_and_alternate(f"{base}/"),
            link(f"{base}/api", "service-desc", OPENAPI, "the API definition (OpenAPI 3.0)"),
            link(f"{base}/docs", "service-doc", HTML, "the API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "conformance classes implemented"),
            link(f"{base}/collections", "data", JSON, "the feature collections"),
            link(f"{base}/healthz", "status", JSON, "service status"),
        ],
    }


def conformance(base: str) -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE, "links": _self_and_alternate(f"{base}/conformance")}


def collection_doc(c: Collection, extent: Extent, base: str) -> dict[str, Any]:
    url = f"{base}/collections/{c.id}"
    doc: dict[str, Any] = {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": SUPPORTED_CRS,
        "storageCrs": SUPPORTED_CRS[0],
        "extent": _extent(extent),
        "links": [
            *_self_and_alternate(url),
            link(f"{url}/items?f=json", "items", GEOJSON, f"{c.title}: the features"),
            link(f"{url}/items?f=html", "items", HTML, f"{c.title}: the features as HTML"),
            link(
                f"{url}/queryables",
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                SCHEMA,
                "the properties a filter may use",
            ),
        ],
    }
    return doc


def _extent(extent: Extent) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if extent.bbox:
        out["spatial"] = {"bbox": [list(extent.bbox)], "crs": SUPPORTED_CRS[0]}
    if extent.interval:
        out["temporal"] = {
            "interval": [[_iso(t) for t in extent.interval]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return out


def _iso(t: datetime | None) -> str | None:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z") if t else None


def collections_doc(docs: list[dict[str, Any]], base: str) -> dict[str, Any]:
    return {"collections": docs, "crs": SUPPORTED_CRS, "links": _self_and_alternate(f"{base}/collections")}


def queryables_doc(c: Collection, base: str) -> dict[str, Any]:
    """A JSON Schema of the properties a filter, sortby or `name=value` may use, and the geometry."""
    url = f"{base}/collections/{c.id}/queryables"
    props: dict[str, Any] = {}
    for name, col in queryables(c).items():
        if name == c.geometry_column:
            continue
        if name == "geometry":
            props[name] = {
                "title": "geometry",
                "x-ogc-role": "primary-geometry",
                "format": f"geometry-{c.geometry_type.lower()}",
            }
            continue
        kind = category(col.type)
        props[name] = {"title": name, "type": _SCHEMA_TYPES.get(kind, "string")}
        if kind == "datetime":
            props[name]["format"] = "date-time"
        if kind == "number" and col.type.python_type is int:
            props[name]["type"] = "integer"
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url,
        "type": "object",
        "title": c.title,
        "properties": props,
        "additionalProperties": False,
        "links": _self_and_alternate(url, SCHEMA),
    }


def page_links(
    url: str, params: Mapping[str, str], offset: int, limit: int, more: bool
) -> list[dict[str, str]]:
    """self/alternate/next/prev links of an items page, keeping the request's other parameters."""

    def at(new_offset: int, f: str) -> str:
        query = {**params, "offset": str(new_offset), "f": f}
        if new_offset == 0:
            query.pop("offset")
        return f"{url}?{urlencode(query)}"

    links = [
        link(at(offset, "json"), "self", GEOJSON, "this page"),
        link(at(offset, "html"), "alternate", HTML, "this page as HTML"),
    ]
    if more:
        links.append(link(at(offset + limit, "json"), "next", GEOJSON, "next page"))
    if offset > 0:
        links.append(link(at(max(offset - limit, 0), "json"), "prev", GEOJSON, "previous page"))
    return links


def feature_collection(
    features: list[str], matched: int | None, links: list[dict[str, str]], collection_url: str
) -> str:
    """The FeatureCollection JSON around the features PostgreSQL already wrote as text."""
    head: dict[str, Any] = {"timeStamp": _iso(datetime.now(UTC))}
    if matched is not None:
        head["numberMatched"] = matched
    head["numberReturned"] = len(features)
    head["links"] = [*links, link(collection_url, "collection", JSON, "the collection")]
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]," + json.dumps(head)[1:]


def feature_doc(text: str, url: str, collection_url: str) -> str:
    """One feature with its links, from the text PostgreSQL wrote."""
    links = [
        link(f"{url}?f=json", "self", GEOJSON, "this feature"),
        link(f"{url}?f=html", "alternate", HTML, "this feature as HTML"),
        link(collection_url, "collection", JSON, "the collection"),
    ]
    return text[:-1] + ',"links":' + json.dumps(links) + "}"


def render(page: str, **context: Any) -> str:
    """An HTML page from twin/layers/html (no script or style from outside)."""
    return _templates.get_template(f"{page}.html").render(**context, collections=COLLECTIONS)
