// Big screen: for a school, its campus in 3D (scene.js); above a school, the regions under the user
// drilled down province → city → county → school (regions.js), ending at the school's campus. Over both:
// live alerts pulsing by severity, buses moving along their routes between fixes, and a side panel of
// counts by level, open alerts and overdue hazards.
import { el, getJSON, liveSocket, signedIn } from "../common/api.js";
import { firstCampus } from "../common/map.js";
import { leg, prepare } from "../common/route.js";
import { LEVELS, frame, loadRegions, regionLayers } from "./regions.js";
import { campusLayers, loadCampus } from "./scene.js";

const D = globalThis.deckgl;
const $ = (id) => document.getElementById(id);
const SEVERITY = { critical: [255, 40, 40], major: [255, 90, 95], high: [255, 90, 95], medium: [255, 176, 32],
  minor: [255, 176, 32], low: [124, 196, 255] };
const MOVE_MS = 4000; // a bus glides to its new fix over this long (fixes come every 5–30 s)
const data = { campus: null, regions: null, alerts: new Map(), buses: new Map(), routes: new Map() };
const trail = []; // [{code, name}] from the user's own unit down to the one shown
let deckgl, user;

async function main() {
  user = await signedIn();
  deckgl = new D.Deck({
    parent: $("map"),
    initialViewState: { longitude: 112.45, latitude: 34.62, zoom: 6 },
    controller: true,
    getTooltip: ({ object }) => object && tooltip(object),
    onError: (error) => console.error(error),
  });
  window.twinDeck = deckgl; // for the page tests: the layers drawn, and projecting to pixels
  clicks($("map"));
  $("show-pipes").onchange = () => render();
  await loadRoutes();
  await show({ code: user.org_code, name: user.org_code, depth: user.org_path.split(".").length });
  liveSocket(onLive);
  setInterval(() => { $("clock").textContent = new Date().toLocaleString(); }, 1000);
  setInterval(() => render(true), 100); // the pulse of the alerts and the buses' glide
  deckgl.setProps({ onAfterRender: () => { window.bigscreenReady = true; } });
}

/** Show the unit `{code, name, depth}`: its regions above a school, its campus at a school. */
async function show(unit) {
  window.bigscreenReady = false;
  trail.splice(trail.findIndex((u) => u.code === unit.code) + 1 || trail.length, Infinity);
  if (!trail.length || trail[trail.length - 1].code !== unit.code) trail.push(unit);
  data.campus = data.regions = null;
  if (unit.depth < LEVELS.length) {
    data.regions = await loadRegions(unit.code, unit.depth);
    unit.name = data.regions.unit.name || unit.name;
    const view = frame(data.regions, $("map").clientWidth, $("map").clientHeight);
    if (view) deckgl.setProps({ initialViewState: view });
  } else {
    const campus = await campusOf(unit.code);
    data.campus = { ...(await loadCampus(campus, unit.code)), info: campus };
    unit.name = campus ? campus.name : unit.name;
    const [x0, y0, x1, y1] = campus ? campus.bbox : [112.44, 34.61, 112.46, 34.63];
    deckgl.setProps({ initialViewState: { longitude: (x0 + x1) / 2, latitude: (y0 + y1) / 2, zoom: 17, pitch: 50,
      bearing: -20, position: [0, 0, data.campus.ground] } });
  }
  $("title").textContent = unit.name;
  crumbs();
  await loadPanel(unit);
  render();
  window.bigscreenLevel = LEVELS[unit.depth - 1]; // for the page tests: what is on screen
}

/**
 * Clicks from the DOM, picked by deck.gl. Not deck.gl's onClick: its tap must be pressed under 250 ms as
 * the page sees it, and a software-rendered wall display busy drawing a frame sees a click much later.
 */
function clicks(container) {
  let down = null;
  container.addEventListener("pointerdown", (e) => { down = [e.clientX, e.clientY]; }, true);
  container.addEventListener("click", (e) => {
    if (!down || Math.hypot(e.clientX - down[0], e.clientY - down[1]) > 5) return; // the end of a drag
    const box = container.getBoundingClientRect();
    const info = deckgl.pickObject({ x: e.clientX - box.left, y: e.clientY - box.top, radius: 4 });
    if (info && info.layer && info.layer.id === "regions") drill(info.object.properties);
    else details(info && info.object);
  });
}

function drill(region) {
  const depth = LEVELS.indexOf(region.level) + 1;
  return show({ code: region.code, name: region.name, depth }).catch((error) => console.error(error));
}

/** The campus of a school: the first the user may see when it is their own, else the one its roll-up names. */
async function campusOf(code) {
  if (code === user.org_code) return firstCampus();
  const rollup = await getJSON(`/riskmap/${code}/rollup`);
  const named = rollup && rollup.children.find((c) => c.kind === "campus");
  if (!named) return null;
  const found = await getJSON(`/collections/campuses/items?limit=1&filter=${encodeURIComponent(`code = '${named.code}'`)}`);
  const feature = found && found.features[0];
  if (!feature) return null;
  const ring = feature.geometry.coordinates.flat(2);
  const xs = ring.map((c) => c[0]), ys = ring.map((c) => c[1]);
  return { ...feature.properties, bbox: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)] };
}

function crumbs() {
  $("crumbs").replaceChildren(...trail.flatMap((u, i) => [
    i ? " › " : "",
    i < trail.length - 1 ? el("button", { type: "button", "data-code": u.code, onclick: () => show(u) }, u.name) : el("strong", {}, u.name),
  ]));
  $("crumbs").hidden = trail.length < 2 && !data.regions;
}

async function loadRoutes() {
  const routes = await getJSON("/collections/bus_routes/items?limit=500");
  for (const f of (routes ? routes.features : [])) {
    const line = f.geometry.type === "MultiLineString" ? f.geometry.coordinates.flat() : f.geometry.coordinates;
    data.routes.set(f.properties.code, prepare(line));
  }
}

function layers() {
  const now = performance.now();
  const pulse = 0.5 + 0.5 * Math.sin((now / 1000) * 4);
  const ground = data.campus ? data.campus.ground : 0;
  const out = data.regions ? regionLayers(data.regions) : data.campus ? campusLayers(data.campus, $("show-pipes").checked) : [];
  const alerts = [...data.alerts.values()].filter((a) => a.lon !== null && a.lon !== undefined);
  out.push(new D.ScatterplotLayer({ id: "alerts", data: alerts, pickable: true, stroked: true, radiusUnits: "pixels",
    getPosition: (a) => [a.lon, a.lat, ground + 30], getRadius: (a) => 12 + 14 * pulse * (a.severity === "critical" ? 1.5 : 1),
    getFillColor: (a) => [...(SEVERITY[a.severity] || SEVERITY.medium), 90 + 120 * pulse], getLineColor: [255, 255, 255],
    lineWidthMinPixels: 2, updateTriggers: { getRadius: now, getFillColor: now } }));
  const buses = [...data.buses.values()].filter((b) => b.at);
  buses.forEach((b) => { b.shown = b.at(now); });
  window.bigscreenBuses = Object.fromEntries(buses.map((b) => [b.id, b.shown]));
  out.push(new D.ScatterplotLayer({ id: "buses", data: buses, pickable: true, radiusUnits: "pixels",
    getPosition: (b) => [...b.shown, ground + 5], getRadius: 10, getFillColor: [245, 167, 0], stroked: true,
    getLineColor: [0, 0, 0], updateTriggers: { getPosition: now } }));
  return out;
}

/** Draw again; `tick` (the animation timer) only while something moves: a pulsing alert or a gliding bus.
 * A still scene is not redrawn ten times a second, which keeps a software-rendered wall display responsive. */
function render(tick) {
  const now = performance.now();
  const moving = data.alerts.size > 0 || [...data.buses.values()].some((b) => b.until > now);
  if (deckgl && (tick !== true || moving)) deckgl.setProps({ layers: layers() });
}

async function loadPanel(unit) {
  const rollup = (data.regions && data.regions.rollup) || await getJSON(`/riskmap/${unit.code}/rollup`);
  const legend = data.regions ? data.regions.legend : (data.campus && data.campus.zones && data.campus.zones.legend) || [];
  $("levels").replaceChildren(...[1, 2, 3, 4].map((level) => {
    const colour = (legend.find((l) => l.level === level) || {}).colour || "#888";
    const n = rollup ? (rollup.points?.[level] || 0) + (rollup.zones?.[level] || 0) : "—";
    return el("div", { class: "level", style: `background:${colour}`, "data-level": level }, String(n), el("small", {}, `level ${level}`));
  }));
  $("regions-box").hidden = !data.regions;
  if (data.regions) {
    $("regions").replaceChildren(...data.regions.children.map((c) => el("li", { "data-code": c.code, onclick: () => drill(c) },
      el("span", { class: "swatch", style: `background:${c.colour}` }), `${c.name} `, el("small", {}, c.highest ? `level ${c.highest}` : "no risks"))));
  }
  const hazards = await getJSON("/hazards?overdue=true&limit=20");
  const items = hazards ? hazards.items : [];
  $("hazard-count").textContent = hazards ? `(${hazards.total})` : "";
  $("hazards").replaceChildren(...(items.length ? items.map((h) =>
    el("li", { onclick: () => details(h) }, `${h.code || h.id} ${h.title || h.description || ""}`.slice(0, 60)))
    : [el("li", { class: "note" }, hazards ? "none" : "not available")]));
}

/** A bus's new fix: glide from where it is drawn to the fix, along its route when it is on it. */
function moveBus(id, fix) {
  const bus = data.buses.get(id) || { id };
  Object.assign(bus, fix);
  const to = [fix.lon, fix.lat];
  const from = bus.at ? bus.at(performance.now()) : to;
  bus.at = leg(data.routes.get(bus.route), from, to, performance.now(), bus.at ? MOVE_MS : 0);
  bus.until = performance.now() + MOVE_MS + 200;
  data.buses.set(id, bus);
}

function onLive(message) {
  if (message.type === "snapshot") {
    data.alerts.clear();
    message.alerts.forEach((a) => data.alerts.set(a.id, a));
    message.buses.forEach((b) => {
      data.buses.set(b.id, { ...data.buses.get(b.id), ...b });
      if (b.lon !== null && b.lon !== undefined) moveBus(b.id, { lon: b.lon, lat: b.lat });
    });
  } else if (message.type === "event" && message.kind === "position") {
    moveBus(message.data.vehicle_id, { lon: message.data.lon, lat: message.data.lat });
  } else if (message.type === "event" && message.data && (message.data.alert || message.data.severity)) {
    const a = message.data.alert || message.data;
    if (a.cleared_at || a.parent_id) data.alerts.delete(a.id); else data.alerts.set(a.id, { ...data.alerts.get(a.id), ...a });
  }
  panelLive();
  render();
}

function panelLive() {
  const alerts = [...data.alerts.values()].sort((a, b) => String(b.last_at).localeCompare(String(a.last_at)));
  $("alert-count").textContent = `(${alerts.length})`;
  $("alerts").replaceChildren(...(alerts.length ? alerts.map((a) => el("li", { class: `sev-${a.severity}`, onclick: () => details(a) },
    `${String(a.severity).toUpperCase()} ${a.type}${a.count > 1 ? ` ×${a.count}` : ""} ${String(a.last_at).slice(11, 16)}`))
    : [el("li", { class: "note" }, "none")]));
  $("buses").replaceChildren(...([...data.buses.values()].map((b) => el("li", { onclick: () => details(b) }, `${b.plate || b.id} ${b.route_name || ""}`))));
}

function tooltip(object) {
  const p = object.properties || object;
  return p.name || p.code || p.plate || p.label || (p.type ? `${p.severity} ${p.type}` : null);
}

function details(object) {
  const box = $("details");
  if (!object) { box.hidden = true; return; }
  const props = object.properties || object;
  box.hidden = false;
  box.replaceChildren(el("table", {}, Object.entries(props).filter(([, v]) => v !== null && typeof v !== "object" && typeof v !== "function")
    .slice(0, 14).map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, String(v))))));
}

main().catch((error) => console.error(error));
