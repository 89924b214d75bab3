// Time travel: pick a past instant and see the campus as it was then — four-colour zones, risk points,
// open hazards, buildings — in a second map beside the page's own, which keeps showing today.
// A page hooks it in with one line: <script type="module" src="/ui-static/common/timetravel.js"></script>
// The past comes from the server (`datetime=` on /riskmap, `as-at=` on /collections: twin.db.asat).
import { el, getJSON, problem, api, signedIn } from "./api.js";
import { firstCampus, maplibregl } from "./map.js";

const CLOSED = new Set(["rejected", "accepted", "closed"]); // hazards no longer open (transitions.yaml)
// A plain background, no tiles: every layer of the past view is the past state, nothing from today.
const STYLE = { version: 8, sources: {}, layers: [{ id: "tt-bg", type: "background", paint: { "background-color": "#eef1f5" } }] };
const EMPTY = { type: "FeatureCollection", features: [] };

let user, campus, pastMap, panel;

/** "YYYY-MM-DDTHH:MM:SS" in the browser's time zone: what <input type=datetime-local step=1> holds. */
export function localValue(date) {
  const p = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

function cssOnce() {
  if (!document.querySelector('link[href$="maplibre-gl.css"]')) {
    document.head.append(el("link", { rel: "stylesheet", href: "/vendor/maplibre-gl/dist/maplibre-gl.css" }));
  }
  document.head.append(el("style", {}, `
    #tt-panel { position: absolute; top: 8px; left: 8px; z-index: 5; background: #fffe; color: #111; padding: 6px 8px;
      border-radius: 6px; font: 14px system-ui, sans-serif; box-shadow: 0 1px 6px #0004; max-width: 420px; }
    #tt-panel input { width: auto; } #tt-panel .error { color: #b00020; margin: 4px 0 0; }
    #tt-past { flex: 1; height: 100%; position: relative; border-left: 3px solid #d9822b; }
    #tt-label { position: absolute; top: 8px; left: 8px; z-index: 5; background: #d9822b; color: #fff; padding: 4px 8px;
      border-radius: 4px; font: bold 14px system-ui, sans-serif; }`));
}

function mountPanel() {
  const host = document.getElementById("map");
  panel = el("div", { id: "tt-panel" },
    el("label", {}, "Compare with ", el("input", { id: "tt-date", type: "datetime-local", step: "1" })),
    el("button", { id: "tt-show", type: "button", onclick: () => show(document.getElementById("tt-date").value) }, "Show past"),
    el("button", { id: "tt-close", type: "button", hidden: true, onclick: close }, "Today only"),
    el("p", { id: "tt-error", class: "error", role: "alert" }));
  host.append(panel);
}

/** Show the state at `value` (datetime-local) beside today's view; a refused instant shows why. */
async function show(value) {
  const error = document.getElementById("tt-error");
  error.textContent = "";
  if (!value) { error.textContent = "pick a date and time first"; return; }
  const at = new Date(value).toISOString();
  const zonesResponse = await api(`/riskmap/${user.org_code}/four-colour?datetime=${encodeURIComponent(at)}`,
    { headers: { Accept: "application/json" } });
  if (!zonesResponse.ok) { error.textContent = await problem(zonesResponse); return; }
  const zones = await zonesResponse.json();
  const asAt = `as-at=${encodeURIComponent(at)}`;
  const [points, hazards, buildings] = await Promise.all([
    getJSON(`/collections/risk_points/items?limit=10000&${asAt}`),
    getJSON(`/collections/hazards/items?limit=10000&${asAt}`),
    getJSON(`/collections/buildings/items?limit=10000&${asAt}`),
  ]);
  const open = { ...EMPTY, features: (hazards || EMPTY).features.filter((f) => !CLOSED.has(f.properties.state)) };
  window.timeTravel = { at, zones, points: points || EMPTY, hazards: open, buildings: buildings || EMPTY };
  await drawPast(window.timeTravel);
  document.getElementById("tt-close").hidden = false;
}

function split() {
  let box = document.getElementById("tt-past");
  if (!box) {
    box = el("div", { id: "tt-past" }, el("div", { id: "tt-label" }));
    document.getElementById("map").after(box);
    window.dispatchEvent(new Event("resize")); // the page's own map takes half the width now
    if (window.twinMap) {
      window.twinMap.resize();
      if (campus) window.twinMap.fitBounds(campus.bbox, { padding: 30, duration: 0 });
    }
  }
  return box;
}

async function drawPast(past) {
  const box = split();
  document.getElementById("tt-label").textContent =
    `as at ${new Date(past.at).toLocaleString()} — ${past.zones.features.length} zones, ` +
    `${past.points.features.length} risk points, ${past.hazards.features.length} open hazards`;
  if (!pastMap) {
    pastMap = new maplibregl.Map({ container: box, style: STYLE, bounds: campus ? campus.bbox : undefined,
      center: campus ? undefined : [112.45, 34.62], zoom: campus ? undefined : 15, fitBoundsOptions: { padding: 30 } });
    await new Promise((resolve) => pastMap.on("load", resolve));
    addLayers();
    follow(window.twinMap);
  }
  for (const name of ["zones", "points", "hazards", "buildings"]) pastMap.getSource(`tt-${name}`).setData(past[name]);
  pastMap.once("idle", () => { window.timeTravelReady = past.at; });
  pastMap.triggerRepaint();
}

function addLayers() {
  for (const name of ["buildings", "zones", "points", "hazards"]) pastMap.addSource(`tt-${name}`, { type: "geojson", data: EMPTY });
  pastMap.addLayer({ id: "tt-buildings", type: "line", source: "tt-buildings", paint: { "line-color": "#556", "line-width": 1 } });
  pastMap.addLayer({ id: "tt-zones", type: "fill", source: "tt-zones",
    paint: { "fill-color": ["coalesce", ["get", "colour"], "#888"], "fill-opacity": 0.6 } });
  pastMap.addLayer({ id: "tt-zones-line", type: "line", source: "tt-zones", paint: { "line-color": "#222", "line-width": 1 } });
  pastMap.addLayer({ id: "tt-points", type: "circle", source: "tt-points",
    paint: { "circle-radius": 6, "circle-color": "#fff", "circle-stroke-color": "#222", "circle-stroke-width": 2 } });
  pastMap.addLayer({ id: "tt-hazards", type: "circle", source: "tt-hazards",
    paint: { "circle-radius": 7, "circle-color": "#d9822b", "circle-stroke-color": "#fff", "circle-stroke-width": 2 } });
  window.timeTravelMap = pastMap; // for the page tests: what is drawn where
}

/** Keep the past view on the same place as the page's MapLibre map (the editor); deck.gl pages pan it alone. */
function follow(today) {
  if (!today) return;
  const sync = () => pastMap.jumpTo({ center: today.getCenter(), zoom: today.getZoom(), bearing: today.getBearing(), pitch: today.getPitch() });
  today.on("move", sync);
  sync();
}

function close() {
  if (pastMap) { pastMap.remove(); pastMap = null; }
  document.getElementById("tt-past")?.remove();
  document.getElementById("tt-close").hidden = true;
  window.timeTravel = null;
  window.timeTravelReady = null;
  window.dispatchEvent(new Event("resize"));
  if (window.twinMap) window.twinMap.resize();
}

async function main() {
  user = await signedIn();
  if (user.role === "parent") return; // parents see their child's bus, not the risk map
  campus = await firstCampus();
  cssOnce();
  mountPanel();
  const input = document.getElementById("tt-date");
  input.value = localValue(new Date(Date.now() - 7 * 24 * 3600 * 1000));
  input.max = localValue(new Date());
}

main().catch((error) => console.error(error));
