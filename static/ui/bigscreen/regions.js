// The province view: the regions under an org unit coloured by their highest risk level, drilled down
// province → city → county → school. Shapes and counts per region: /stats/risks?f=geojson&within=…
// (boundaries of org_units, scoped); the level in force: /riskmap/{org}/rollup (the roll-up the database
// keeps); colours: /riskmap/{org}/scale (the scheme the unit grades with).
import { getJSON } from "../common/api.js";

const D = globalThis.deckgl;
export const LEVELS = ["province", "city", "county", "school"];

/** {unit, children: [{code, name, level, highest, colour, geometry, counts}], legend} under `code`. */
export async function loadRegions(code, depth) {
  const below = LEVELS[depth]; // depth: 1 province … 3 county; the next level down
  const [stats, rollup, scale] = await Promise.all([
    getJSON(`/stats/risks?group_by=${below}&within=${encodeURIComponent(code)}&f=geojson`),
    getJSON(`/riskmap/${encodeURIComponent(code)}/rollup`),
    getJSON(`/riskmap/${encodeURIComponent(code)}/scale`),
  ]);
  const legend = scale ? scale.definition.levels : [];
  const highest = new Map((rollup ? rollup.children : []).filter((c) => c.kind === "org").map((c) => [c.code, c.highest_level]));
  const children = (stats ? stats.features : []).filter((f) => f.properties.code !== code).map((f) => {
    const p = f.properties;
    const level = highest.get(p.code) ?? null;
    const colour = (legend.find((l) => l.level === level) || {}).colour || "#56606e";
    return { code: p.code, name: p.name, level: p.level, highest: level, colour, geometry: f.geometry, points: p.points };
  });
  return { unit: rollup ? rollup.org : { code }, rollup, children, legend };
}

const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

/** deck.gl layers of the regions: filled by level, white outlines, names; a click drills down. */
export function regionLayers(regions) {
  const drawn = regions.children.filter((c) => c.geometry)
    .map((c) => ({ type: "Feature", geometry: c.geometry, properties: c }));
  return [
    new D.GeoJsonLayer({ id: "regions", data: drawn, pickable: true, filled: true, stroked: true,
      getFillColor: (f) => [...rgb(f.properties.colour), 170], getLineColor: [255, 255, 255, 220], lineWidthMinPixels: 2,
      autoHighlight: true, highlightColor: [255, 255, 255, 60] }),
    new D.TextLayer({ id: "region-names", data: drawn, characterSet: "auto", getSize: 22, getColor: [255, 255, 255],
      getText: (f) => f.properties.name, getPosition: (f) => centre(f.geometry), outlineWidth: 3, outlineColor: [0, 0, 0],
      fontSettings: { sdf: true } }),
  ];
}

/** The view framing the regions (or null when none has a boundary). */
export function frame(regions, width, height) {
  const xs = [], ys = [];
  const visit = (c) => (typeof c[0] === "number" ? (xs.push(c[0]), ys.push(c[1])) : c.forEach(visit));
  regions.children.filter((c) => c.geometry).forEach((c) => visit(c.geometry.coordinates));
  if (!xs.length) return null;
  const viewport = new D.WebMercatorViewport({ width, height });
  const { longitude, latitude, zoom } = viewport.fitBounds(
    [[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 60 });
  return { longitude, latitude, zoom: Math.min(zoom, 16), pitch: 0, bearing: 0, position: [0, 0, 0] };
}

function centre(geometry) {
  const ring = geometry.type === "MultiPolygon" ? geometry.coordinates[0][0] : geometry.coordinates[0];
  const xs = ring.map((c) => c[0]), ys = ring.map((c) => c[1]);
  return [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
}
