// Big screen: deck.gl view of the campus — extruded buildings, four-colour zones, pipes below ground,
// pulsing live alerts, buses — and a side panel of open alerts, overdue hazards and counts by level.
import { el, getJSON, liveSocket, signedIn } from "../common/api.js";
import { firstCampus } from "../common/map.js";

const { Deck, GeoJsonLayer, PathLayer, ScatterplotLayer } = globalThis.deck;
const $ = (id) => document.getElementById(id);
const SEVERITY = { critical: [255, 40, 40], high: [255, 90, 95], medium: [255, 176, 32], low: [124, 196, 255] };
const UTILITY = { water: [30, 144, 255], drainage: [139, 90, 43], gas: [255, 215, 0], heat: [255, 99, 71],
  power: [220, 20, 60], telecom: [50, 205, 50] };
const data = { buildings: null, zones: null, pipes: null, scene: null, alerts: new Map(), buses: new Map() };
let deckgl, user;

const rgb = (hex) => (hex && hex.length === 7 ? [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) : [128, 128, 128]);

async function main() {
  user = await signedIn();
  const campus = await firstCampus();
  $("title").textContent = campus ? campus.name : user.org_code;
  const [x0, y0, x1, y1] = campus ? campus.bbox : [112.44, 34.61, 112.46, 34.63];
  deckgl = new Deck({
    parent: $("map"),
    initialViewState: { longitude: (x0 + x1) / 2, latitude: (y0 + y1) / 2, zoom: 17, pitch: 50, bearing: -20 },
    controller: true,
    getTooltip: ({ object }) => object && (object.properties ? object.properties.name || object.properties.code : object.label),
    onClick: ({ object }) => details(object),
    onError: (error) => console.error(error),
  });
  $("show-pipes").onchange = render;
  await loadMap(campus);
  await loadPanel(); // after the map data: the level colours come from the four-colour legend
  liveSocket(onLive);
  setInterval(() => { $("clock").textContent = new Date().toLocaleString(); }, 1000);
  setInterval(render, 120); // the pulse of the alerts
  render();
  deckgl.setProps({ onAfterRender: () => { window.bigscreenReady = true; } });
}

async function loadMap(campus) {
  // The scenes work publishes a ready deck.gl description; until it does, extrude the buildings collection.
  data.scene = campus ? await getJSON(`/scenes/${campus.code}/deck.json`).catch(() => null) : null;
  if (!data.scene) data.buildings = await getJSON("/collections/buildings/items?limit=1000");
  data.zones = await getJSON(`/riskmap/${user.org_code}/four-colour`);
  data.pipes = await getJSON("/collections/pipe_segments/items?limit=10000");
}

function sceneLayers() {
  if (!data.scene || !globalThis.deck.JSONConverter) return [];
  const converter = new globalThis.deck.JSONConverter({ configuration: new globalThis.deck.JSONConfiguration({ classes: globalThis.deck }) });
  return converter.convert(data.scene).layers || [];
}

function layers() {
  const now = performance.now() / 1000;
  const pulse = 0.5 + 0.5 * Math.sin(now * 4);
  const out = [
    new GeoJsonLayer({ id: "zones", data: data.zones || [], filled: true, stroked: true, pickable: true,
      getFillColor: (f) => [...rgb(f.properties.colour), 110], getLineColor: [255, 255, 255, 160], lineWidthMinPixels: 1 }),
    ...sceneLayers(),
    new GeoJsonLayer({ id: "buildings", data: data.buildings || [], extruded: true, pickable: true, wireframe: false,
      getElevation: (f) => f.properties.height_m || 3.3 * (f.properties.floors || 3),
      getFillColor: [150, 170, 200, 220], material: { ambient: 0.5, diffuse: 0.6 } }),
  ];
  if ($("show-pipes").checked && data.pipes) {
    out.push(new PathLayer({ id: "pipes", data: data.pipes.features, pickable: true, widthMinPixels: 3,
      // below ground: z = minus the surveyed depth (1.5 m where none was surveyed)
      getPath: (f) => f.geometry.coordinates.map(([x, y]) => [x, y, -(f.properties.start_depth_m ?? 1.5)]),
      getColor: (f) => UTILITY[f.properties.utility] || [200, 200, 200] }));
  }
  const alerts = [...data.alerts.values()];
  out.push(new ScatterplotLayer({ id: "alerts", data: alerts, pickable: true, stroked: true, radiusUnits: "pixels",
    getPosition: (a) => [a.lon, a.lat, 30], getRadius: (a) => 12 + 14 * pulse * (a.severity === "critical" ? 1.5 : 1),
    getFillColor: (a) => [...(SEVERITY[a.severity] || SEVERITY.medium), 90 + 120 * pulse], getLineColor: [255, 255, 255],
    lineWidthMinPixels: 2, updateTriggers: { getRadius: now, getFillColor: now } }));
  const buses = [...data.buses.values()].filter((b) => b.lon !== null && b.lon !== undefined);
  out.push(new ScatterplotLayer({ id: "buses", data: buses, pickable: true, radiusUnits: "pixels",
    getPosition: (b) => [b.lon, b.lat, 5], getRadius: 10, getFillColor: [245, 167, 0], stroked: true, getLineColor: [0, 0, 0] }));
  return out;
}

function render() {
  if (deckgl) deckgl.setProps({ layers: layers() });
}

async function loadPanel() {
  const rollup = await getJSON(`/riskmap/${user.org_code}/rollup`);
  const legend = (data.zones && data.zones.legend) || [];
  $("levels").replaceChildren(...[1, 2, 3, 4].map((level) => {
    const colour = (legend.find((l) => l.level === level) || {}).colour || "#888";
    const n = rollup ? (rollup.points?.[level] || 0) + (rollup.zones?.[level] || 0) : "—";
    return el("div", { class: "level", style: `background:${colour}`, "data-level": level }, String(n), el("small", {}, `level ${level}`));
  }));
  const hazards = await getJSON("/hazards?overdue=true&limit=20");
  const items = hazards ? hazards.items : [];
  $("hazard-count").textContent = hazards ? `(${hazards.total})` : "";
  $("hazards").replaceChildren(...(items.length ? items.map((h) =>
    el("li", { onclick: () => details(h) }, `${h.code || h.id} ${h.title || h.description || ""}`.slice(0, 60)))
    : [el("li", { class: "note" }, hazards ? "none" : "not available")]));
}

function onLive(message) {
  if (message.type === "snapshot") {
    data.alerts.clear();
    message.alerts.forEach((a) => data.alerts.set(a.id, a));
    message.buses.forEach((b) => data.buses.set(b.id, b));
  } else if (message.type === "event" && message.kind === "position") {
    const d = message.data;
    data.buses.set(d.vehicle_id, { ...(data.buses.get(d.vehicle_id) || { id: d.vehicle_id }), lon: d.lon, lat: d.lat });
  } else if (message.type === "event" && message.data && message.data.alert) {
    const a = message.data.alert;
    if (a.cleared_at || a.parent_id) data.alerts.delete(a.id); else data.alerts.set(a.id, a);
  } else if (message.type === "event" && message.data && message.data.id && message.data.severity) {
    const a = message.data;
    if (a.cleared_at || a.parent_id) data.alerts.delete(a.id); else data.alerts.set(a.id, { ...data.alerts.get(a.id), ...a });
  }
  panelLive();
}

function panelLive() {
  const alerts = [...data.alerts.values()].sort((a, b) => String(b.last_at).localeCompare(String(a.last_at)));
  $("alert-count").textContent = `(${alerts.length})`;
  $("alerts").replaceChildren(...(alerts.length ? alerts.map((a) => el("li", { class: `sev-${a.severity}`, onclick: () => details(a) },
    `${a.severity.toUpperCase()} ${a.type}${a.count > 1 ? ` ×${a.count}` : ""} ${String(a.last_at).slice(11, 16)}`))
    : [el("li", { class: "note" }, "none")]));
  $("buses").replaceChildren(...([...data.buses.values()].map((b) => el("li", {}, `${b.plate || b.id} ${b.route_name || ""}`))));
}

function details(object) {
  const box = $("details");
  if (!object) { box.hidden = true; return; }
  const props = object.properties || object;
  box.hidden = false;
  box.replaceChildren(el("table", {}, Object.entries(props).filter(([, v]) => v !== null && typeof v !== "object")
    .slice(0, 14).map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, String(v))))));
}

main().catch((error) => console.error(error));
