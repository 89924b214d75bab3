// Maintenance: click a pipe → isolation trace (valves to close, buildings cut off) → excavation plan.
import { api, el, getJSON, problem, signedIn } from "../common/api.js";
import { EMPTY, campusMap, firstCampus } from "../common/map.js";

const $ = (id) => document.getElementById(id);
const state = { campus: null, body: null };
let map;

async function main() {
  const user = await signedIn();
  $("who").textContent = `${user.username} (${user.role})`;
  state.campus = await firstCampus();
  if (!state.campus) { $("hint").textContent = "You see no campus."; return; }
  map = campusMap("map", state.campus);
  map.on("load", async () => {
    addLayers();
    await showUtility();
    map.once("idle", () => { window.maintenanceReady = true; }); // pipes drawn: clickable
  });
  $("utility").onchange = showUtility;
  $("plan").onclick = plan;
  map.on("click", "ui-pipes", (e) => isolate(e.features[0]));
  map.on("mouseenter", "ui-pipes", () => { map.getCanvas().style.cursor = "pointer"; });
  map.on("mouseleave", "ui-pipes", () => { map.getCanvas().style.cursor = ""; });
}

function addLayers() {
  for (const id of ["pipes", "buildings", "trace"]) map.addSource(id, { type: "geojson", data: EMPTY });
  map.addLayer({ id: "ui-buildings-out", type: "fill", source: "buildings",
    filter: ["in", ["id"], ["literal", []]], paint: { "fill-color": "#555", "fill-opacity": 0.7 } });
  map.addLayer({ id: "ui-pipes", type: "line", source: "pipes",
    paint: { "line-color": "#1f77b4", "line-width": 4 } });
  map.addLayer({ id: "trace-segment", type: "line", source: "trace", filter: ["==", ["geometry-type"], "LineString"],
    paint: { "line-color": "#e4572e", "line-width": 7 } });
  map.addLayer({ id: "trace-valves", type: "circle", source: "trace", filter: ["==", ["geometry-type"], "Point"],
    paint: { "circle-radius": 8, "circle-color": "#ffd400", "circle-stroke-color": "#000", "circle-stroke-width": 2 } });
}

async function showUtility() {
  const utility = $("utility").value;
  const pipes = await getJSON(`/collections/pipe_segments/items?filter=${encodeURIComponent(`utility = '${utility}'`)}&limit=5000`);
  map.getSource("pipes").setData(pipes || EMPTY);
  window.twinData = { pipes: pipes || EMPTY }; // what is drawn, for the page tests
  const buildings = await getJSON("/collections/buildings/items?limit=1000");
  map.getSource("buildings").setData(buildings || EMPTY);
}

async function isolate(pipe) {
  $("error").textContent = "";
  $("excavation").hidden = true;
  state.body = { campus: state.campus.code, utility: $("utility").value, pipe_id: pipe.id };
  const response = await api("/pipes/isolation", { method: "POST", json: state.body });
  if (!response.ok) { $("error").textContent = await problem(response); return; }
  const trace = await response.json();
  map.getSource("trace").setData(trace.geojson);
  window.twinData.trace = trace.geojson;
  map.setFilter("ui-buildings-out", ["in", ["id"], ["literal", trace.buildings_out.map((b) => b.id)]]);
  $("valves").replaceChildren(...trace.valves_to_close.map((v) => el("li", {}, `${v.code} (${v.kind})`)));
  $("buildings-out").replaceChildren(...(trace.buildings_out.length
    ? trace.buildings_out.map((b) => el("li", {}, `${b.code} ${b.name || ""}`)) : [el("li", {}, "none")]));
  $("notes").textContent = (trace.notes || []).join(" ");
  $("hint").textContent = `Pipe ${trace.pipe_id}: close ${trace.valves_to_close.length} valve(s).`;
  $("isolation").hidden = false;
}

async function plan() {
  const response = await api("/pipes/excavation", { method: "POST", json: state.body });
  if (!response.ok) { $("error").textContent = await problem(response); return; }
  const doc = await response.json();
  const base = `/pipes/excavation/${doc.id}`;
  $("plan-id").textContent = `#${doc.id}`;
  $("plan-summary").textContent = summary(doc);
  // The plan needs the token, so a plain link would be refused: fetch it and hand the browser a blob.
  $("open-plan").onclick = () => openBlob(`${base}/plan.html`);
  $("pdf").onclick = () => openBlob(`${base}/plan.pdf`, `excavation-${doc.id}.pdf`);
  $("excavation").hidden = false;
  const tileset = `/scenes/excavation/${doc.id}/tileset.json`;
  const cut = await api(tileset, { method: "GET" });
  $("cut3d").replaceChildren(cut.ok
    ? el("a", { href: tileset, id: "cut-link" }, "3D cut (3D Tiles)")
    : document.createTextNode("3D cut: not available yet."));
}

function summary(doc) {
  const parts = [];
  if (doc.volume_m3 !== undefined) parts.push(`volume ${doc.volume_m3} m³`);
  if (doc.volume && doc.volume.total_m3 !== undefined) parts.push(`volume ${doc.volume.total_m3} m³`);
  if (Array.isArray(doc.conflicts)) parts.push(`${doc.conflicts.length} conflict(s)`);
  const flags = Array.isArray(doc.flags) ? doc.flags : Object.keys(doc.flags || {}).filter((k) => doc.flags[k]);
  parts.push(`flags: ${flags.map((f) => f.code || f).join(", ") || "none"}`);
  return parts.join(" · ");
}

async function openBlob(path, download) {
  const response = await api(path);
  if (!response.ok) { $("error").textContent = await problem(response); return; }
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, target: "_blank", download });
  document.body.append(link);
  link.click();
  link.remove();
}

main().catch((error) => console.error(error));
