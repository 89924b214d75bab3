// The dashboard's map: regions coloured by a measure (quantile classes), or H3 hexagons / Gi* hot spots.
// A plain background, no base tiles: the regions themselves are the map, and nothing leaves this server.
import { maplibregl } from "../common/map.js";
import { EMPTY } from "../common/map.js";

export const RAMP = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];
export const NO_VALUE = "#d9d9d9";
const SPOT = { hot: "#d7301f", cold: "#2c7fb8", "not significant": "#e0e0e0" };
const PLAIN = { version: 8, sources: {}, layers: [{ id: "bg", type: "background", paint: { "background-color": "#eef2f5" } }] };

/** Upper bounds of up to five quantile classes of the values (distinct, ascending). */
export function breaks(values) {
  const sorted = values.filter((v) => v !== null && v !== undefined).sort((a, b) => a - b);
  if (!sorted.length) return [];
  const out = [1, 2, 3, 4, 5].map((k) => sorted[Math.min(sorted.length - 1, Math.ceil((k * sorted.length) / 5) - 1)]);
  return [...new Set(out)];
}

/** The ramp colour of `value` given class `bounds`. */
export function classColour(value, bounds) {
  if (value === null || value === undefined || !bounds.length) return NO_VALUE;
  const i = bounds.findIndex((b) => value <= b);
  const k = i < 0 ? bounds.length - 1 : i;
  return RAMP[Math.round((k * (RAMP.length - 1)) / Math.max(1, bounds.length - 1))];
}

export function statsMap(container, onPick) {
  const map = new maplibregl.Map({ container, style: PLAIN, center: [113.6, 34.0], zoom: 6, attributionControl: false });
  map.on("error", (e) => console.error("map error: " + (e.error && e.error.message)));
  window.twinMap = map;
  const ready = new Promise((resolve) => map.on("load", resolve)).then(() => {
    map.addSource("stats", { type: "geojson", data: EMPTY });
    map.addLayer({ id: "stats-fill", type: "fill", source: "stats",
      paint: { "fill-color": ["coalesce", ["get", "_colour"], NO_VALUE], "fill-opacity": 0.85 } });
    map.addLayer({ id: "stats-line", type: "line", source: "stats", paint: { "line-color": "#555", "line-width": 0.8 } });
    map.on("click", "stats-fill", (e) => onPick(e.features[0].properties));
  });
  return { map, ready };
}

/** Draw `collection` (features already carrying `_colour`) and frame it. */
export function show(view, collection) {
  const drawn = { ...collection, features: collection.features.filter((f) => f.geometry) };
  view.map.getSource("stats").setData(drawn.features.length ? drawn : EMPTY);
  const box = bbox(drawn.features);
  if (box) view.map.fitBounds(box, { padding: 30, duration: 0, maxZoom: 15 });
  return drawn.features.length;
}

export function colourRegions(collection, measure) {
  const bounds = breaks(collection.features.map((f) => f.properties[measure]));
  collection.features.forEach((f) => { f.properties._colour = classColour(f.properties[measure], bounds); });
  return bounds;
}

export function colourCells(collection, layer) {
  const counts = collection.features.map((f) => f.properties.count);
  const bounds = breaks(counts);
  collection.features.forEach((f) => {
    f.properties._colour = layer === "hotspots" ? SPOT[f.properties.spot] || NO_VALUE : classColour(f.properties.count, bounds);
  });
  return layer === "hotspots" ? Object.entries(SPOT) : bounds;
}

function bbox(features) {
  let box = null;
  const visit = (c) => {
    if (typeof c[0] === "number") {
      box = box ? [Math.min(box[0], c[0]), Math.min(box[1], c[1]), Math.max(box[2], c[0]), Math.max(box[3], c[1])] : [c[0], c[1], c[0], c[1]];
    } else c.forEach(visit);
  };
  features.forEach((f) => visit(f.geometry.coordinates));
  return box;
}
