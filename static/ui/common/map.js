// A MapLibre map of the campus (our style and vector tiles, the token on every request to this server).
import * as maplibregl from "/vendor/maplibre-gl/dist/maplibre-gl.mjs";
import { getJSON, token } from "./api.js";

export { maplibregl };

/** The caller's first campus: {code, name, bbox}; null when they see none (a parent, another school). */
export async function firstCampus() {
  const campuses = await getJSON("/collections/campuses/items?limit=1");
  const feature = campuses && campuses.features[0];
  if (!feature) return null;
  const ring = feature.geometry.coordinates.flat(2);
  const xs = ring.map((c) => c[0]), ys = ring.map((c) => c[1]);
  return { ...feature.properties, bbox: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)] };
}

export function campusMap(container, campus, options = {}) {
  const map = new maplibregl.Map({
    container,
    style: location.origin + "/styles/campus/style.json",
    bounds: campus ? campus.bbox : undefined,
    center: campus ? undefined : [112.45, 34.62],
    zoom: campus ? undefined : 14,
    fitBoundsOptions: { padding: 30 },
    transformRequest: (url) =>
      url.startsWith(location.origin) ? { url, headers: { Authorization: `Bearer ${token()}` } } : { url },
    ...options,
  });
  map.on("error", (e) => console.error("map error: " + (e.error && e.error.message)));
  window.twinMap = map; // for the page tests: project lon/lat to pixels
  return map;
}

export const EMPTY = { type: "FeatureCollection", features: [] };
