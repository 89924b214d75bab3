// Parent page: only the buses the server lets this parent see (their child's route), live, with the ETA.
import { el, getJSON, liveSocket, signedIn } from "../common/api.js";
import { maplibregl } from "../common/map.js";

const $ = (id) => document.getElementById(id);
const buses = new Map(); // id -> {bus, marker}
let map;

// No campus tiles here: a parent may see only their child's bus, so the map is a plain background.
const PLAIN = { version: 8, sources: {}, layers: [{ id: "bg", type: "background", paint: { "background-color": "#e8eef2" } }] };

async function main() {
  const user = await signedIn();
  $("who").textContent = user.username;
  map = new maplibregl.Map({ container: "map", style: PLAIN, center: [112.45, 34.62], zoom: 13 });
  map.on("error", (e) => console.error("map error: " + (e.error && e.error.message)));
  window.twinMap = map;
  const visible = (await getJSON("/live/buses")) || [];
  visible.forEach(show);
  if (!visible.length) $("buses").append(el("li", {}, "No bus for your child today."));
  fit();
  await gateHistory();
  liveSocket(onLive);
  window.parentReady = true;
}

function show(bus) {
  let entry = buses.get(bus.id);
  if (!entry) {
    const item = el("li", { "data-id": bus.id }, el("strong", {}, bus.plate), " ", bus.route_name || bus.route || "",
      el("div", { class: "where note" }), el("div", { class: "eta" }));
    $("buses").append(item);
    entry = { bus, item, marker: new maplibregl.Marker({ element: el("div", { class: "bus-marker" }, bus.plate) }) };
    buses.set(bus.id, entry);
    eta(bus.id, item);
  }
  Object.assign(entry.bus, bus);
  const { lon, lat, time } = entry.bus;
  if (lon !== null && lon !== undefined) {
    entry.marker.setLngLat([lon, lat]).addTo(map);
    entry.item.querySelector(".where").textContent = `last seen ${time ? String(time).slice(11, 19) : "now"}`;
  } else {
    entry.item.querySelector(".where").textContent = "no position yet";
  }
}

async function eta(id, item) {
  // GET /live/buses/{id}/eta: the next stops along the route, each with its arrival time.
  const answer = await getJSON(`/live/buses/${id}/eta`).catch(() => null);
  const next = answer && answer.stops && answer.stops[0];
  const minutes = next ? Math.max(0, Math.round((Date.parse(next.eta) - Date.now()) / 60000)) : null;
  item.querySelector(".eta").textContent = next
    ? `ETA ${minutes} min at ${next.name}`
    : "ETA not available";
}

function fit() {
  const at = [...buses.values()].map((e) => e.bus).filter((b) => b.lon !== null && b.lon !== undefined);
  if (at.length) map.jumpTo({ center: [at[0].lon, at[0].lat], zoom: 14 });
}

// Gate passes: "entered / left campus at T through gate G", newest first; the server sends a parent only
// their own children's (the notifications addressed to them, and the live events of their children).
const GATE_KINDS = new Set(["gate_in", "gate_out"]);
const gateSeen = new Set();

async function gateHistory() {
  const mine = (await getJSON("/notifications?mine=true&limit=20")) || [];
  const passes = mine.filter((n) => GATE_KINDS.has(n.kind)).map((n) => n.body);
  passes.reverse().forEach(showPass);
  if (!passes.length) $("gate").append(el("li", { class: "note empty" }, "No gate pass yet today."));
}

function showPass(pass) {
  if (!pass || gateSeen.has(pass.event_id)) return; // the stream may repeat what the history showed
  gateSeen.add(pass.event_id);
  $("gate").querySelector(".empty")?.remove();
  const item = el("li", { class: `pass ${pass.direction}`, "data-student": pass.student_id }, pass.title);
  $("gate").prepend(item);
}

function onLive(message) {
  if (message.type === "event" && message.kind === "notification" && message.data.topic === "gate") {
    showPass(message.data);
  }
  $("live").textContent = "Live";
  if (message.type === "snapshot") (message.buses || []).forEach(show);
  if (message.type === "event" && message.kind === "position") {
    const d = message.data;
    if (buses.has(d.vehicle_id)) show({ id: d.vehicle_id, lon: d.lon, lat: d.lat, time: d.time || message.at });
  }
}

main().catch((error) => console.error(error));
