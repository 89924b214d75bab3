// Risk editor: four-colour zones and risk points; draw, reshape, grade (LS/LEC), save with If-Match, resolve
// a 412 conflict, history and restore. Saves go through OGC API Features Part 4 (/collections/…/items).
import { api, el, getJSON, problem, signedIn } from "../common/api.js";
import { EMPTY, campusMap, firstCampus } from "../common/map.js";

// The value lists an assessor may pick and the categories: GET /riskmap/scales (twin/riskmap/scales.yaml),
// fetched once; the server checks every value again when it grades.
let SCALES = null;
const EDITORS = ["admin", "safety_officer"]; // who may write risks (twin/access/roles.py)

const $ = (id) => document.getElementById(id);
const form = $("feature");
const state = { mode: null, draft: [], current: null, etag: null, collection: null, grade: null, deleted: false,
  lastVersion: 0 };
let map, campus, user;

async function main() {
  user = await signedIn();
  $("who").textContent = `${user.username} (${user.role})`;
  if (!EDITORS.includes(user.role)) {
    $("tools").hidden = true;
    $("hint").textContent = `Editing risks needs the role ${EDITORS.join(", ")}; you are ${user.role}.`;
    return;
  }
  campus = await firstCampus();
  map = campusMap("map", campus);
  const scales = await getJSON("/riskmap/scales");
  SCALES = { LS: { L: scales.LS.L, S: scales.LS.S }, LEC: { L: scales.LEC.L, E: scales.LEC.E, C: scales.LEC.C } };
  form.category.append(...scales.categories.map((c) => el("option", {}, c)));
  form.method.addEventListener("change", () => renderInputs({}));
  map.on("load", async () => {
    addLayers();
    await refresh();
    window.editorReady = true;
  });
  wireTools();
}

function addLayers() {
  map.addSource("zones", { type: "geojson", data: EMPTY });
  map.addSource("points", { type: "geojson", data: EMPTY });
  map.addSource("draft", { type: "geojson", data: EMPTY });
  map.addLayer({ id: "ui-zones-fill", type: "fill", source: "zones",
    paint: { "fill-color": ["coalesce", ["get", "colour"], "#888"], "fill-opacity": 0.45 } });
  map.addLayer({ id: "ui-zones-line", type: "line", source: "zones", paint: { "line-color": "#222", "line-width": 1 } });
  map.addLayer({ id: "ui-points", type: "circle", source: "points",
    paint: { "circle-radius": 7, "circle-color": "#fff", "circle-stroke-color": "#222", "circle-stroke-width": 2 } });
  map.addLayer({ id: "ui-draft-line", type: "line", source: "draft", filter: ["!=", ["geometry-type"], "Point"],
    paint: { "line-color": "#0057ff", "line-width": 2, "line-dasharray": [2, 1] } });
  map.addLayer({ id: "ui-draft-vertices", type: "circle", source: "draft", filter: ["==", ["geometry-type"], "Point"],
    paint: { "circle-radius": 6, "circle-color": "#0057ff", "circle-stroke-color": "#fff", "circle-stroke-width": 2 } });
}

async function refresh() {
  const zones = await getJSON(`/riskmap/${user.org_code}/four-colour`);
  map.getSource("zones").setData(zones || EMPTY);
  const points = await getJSON("/collections/risk_points/items?limit=1000");
  map.getSource("points").setData(points || EMPTY);
  window.twinData = { zones: zones || EMPTY, points: points || EMPTY }; // what is drawn, for the page tests
}

// --- drawing: click to add vertices, drag a vertex to reshape ------------------------------------------

function wireTools() {
  $("new-zone").onclick = () => startDrawing("zone");
  $("new-point").onclick = () => startDrawing("point");
  $("finish").onclick = finishShape;
  $("cancel").onclick = () => { state.mode = null; state.draft = []; drawDraft(); form.hidden = true; };
  map.on("click", onMapClick);
  map.on("mousedown", "ui-draft-vertices", startDrag);
  form.addEventListener("submit", (e) => { e.preventDefault(); save(); });
  $("assess").onclick = assess;
  $("delete").onclick = remove;
  $("history").onclick = history;
}

function startDrawing(mode) {
  Object.assign(state, { mode, draft: [], current: null, etag: null, grade: null,
    collection: mode === "zone" ? "risk_zones" : "risk_points" });
  $("finish").hidden = mode !== "zone";
  $("hint").textContent = mode === "zone" ? "Click the corners of the zone, then Finish shape." : "Click where the point is.";
  drawDraft();
}

function onMapClick(event) {
  const at = [event.lngLat.lng, event.lngLat.lat];
  if (state.mode === "zone") { state.draft.push(at); drawDraft(); return; }
  if (state.mode === "point") { state.draft = [at]; state.mode = null; drawDraft(); openForm({}); return; }
  if (state.mode === "dragging") return;
  const hit = map.queryRenderedFeatures(event.point, { layers: ["ui-points", "ui-zones-fill"] })[0];
  if (hit) select(hit.layer.id === "ui-points" ? "risk_points" : "risk_zones", hit.id ?? hit.properties.id);
}

function finishShape() {
  if (state.draft.length < 3) { $("hint").textContent = "A zone needs at least three corners."; return; }
  state.mode = null;
  $("finish").hidden = true;
  openForm({});
}

function draftGeometry() {
  if (state.collection === "risk_points") return { type: "Point", coordinates: state.draft[0] };
  return { type: "Polygon", coordinates: [[...state.draft, state.draft[0]]] };
}

function drawDraft() {
  const vertices = state.draft.map((c, i) => ({ type: "Feature", id: i, properties: { i },
    geometry: { type: "Point", coordinates: c } }));
  const outline = state.draft.length > 1
    ? [{ type: "Feature", properties: {}, geometry: { type: "LineString",
        coordinates: state.collection === "risk_zones" && !state.mode ? [...state.draft, state.draft[0]] : state.draft } }]
    : [];
  map.getSource("draft").setData({ type: "FeatureCollection", features: [...outline, ...vertices] });
}

function startDrag(event) {
  event.preventDefault();
  const index = event.features[0].properties.i;
  const before = state.mode;
  state.mode = "dragging";
  const move = (e) => { state.draft[index] = [e.lngLat.lng, e.lngLat.lat]; drawDraft(); };
  map.on("mousemove", move);
  map.once("mouseup", () => { map.off("mousemove", move); setTimeout(() => { state.mode = before; }, 0); });
}

// --- the form: grade, save, conflict, delete, history ------------------------------------------------

async function select(collection, fid) {
  const response = await api(`/collections/${collection}/items/${fid}`, { headers: { Accept: "application/geo+json" } });
  if (!response.ok) { $("hint").textContent = await problem(response); return; }
  const feature = await response.json();
  Object.assign(state, { collection, current: feature, etag: response.headers.get("ETag"), mode: null });
  const g = feature.geometry;
  state.draft = collection === "risk_points" ? [g.coordinates] : g.coordinates[0].slice(0, -1);
  drawDraft();
  openForm(feature.properties);
}

function openForm(props) {
  form.hidden = false;
  $("feature-title").textContent = state.current
    ? `${state.collection === "risk_zones" ? "Zone" : "Point"} ${state.current.id}` : `New ${state.collection === "risk_zones" ? "zone" : "point"}`;
  form.code.value = props.code || "";
  form.name.value = props.name || "";
  form.category.value = props.category || "fire";
  form.method.value = props.method || "LS";
  renderInputs(props.inputs || {});
  state.grade = props.level ? { level: props.level, score: props.score, method: props.method, inputs: props.inputs } : null;
  $("grade").textContent = props.level ? `level ${props.level} (score ${props.score ?? "—"})` : "";
  for (const id of ["feature-error", "versions"]) $(id).textContent = "";
  $("conflict").hidden = true;
  $("delete").hidden = $("history").hidden = !state.current;
  $("save").hidden = false;
  state.deleted = false;
}

function renderInputs(values) {
  const scale = SCALES[form.method.value];
  $("inputs").replaceChildren(...Object.entries(scale).map(([name, options]) =>
    el("label", {}, `${name} `, el("select", { name: `in-${name}` },
      options.map(({ value, en }) => el("option", { value, selected: Number(values[name]) === value },
        en ? `${value} — ${en}` : String(value)))))));
  state.grade = null;
  $("grade").textContent = "";
}

function inputs() {
  const out = { method: form.method.value };
  for (const name of Object.keys(SCALES[out.method])) out[name] = Number(form[`in-${name}`].value);
  return out;
}

async function assess() {
  const body = inputs();
  const response = await api("/risk/assess", { method: "POST", json: body });
  if (!response.ok) { $("feature-error").textContent = await problem(response); return null; }
  const grade = await response.json();
  state.grade = grade;
  $("grade").replaceChildren(el("span", { class: "swatch", style: `background:${grade.colour}` }),
    `level ${grade.level} — ${grade.label} (score ${grade.score})`);
  return grade;
}

function featureBody() {
  const grade = state.grade;
  const props = { code: form.code.value, name: form.name.value, category: form.category.value,
    method: grade.method, inputs: grade.inputs, score: grade.score, level: grade.level };
  props.campus = campus.code;
  return { type: "Feature", geometry: draftGeometry(), properties: props };
}

async function save(etag = state.etag) {
  if (!state.grade) await assess();
  if (!state.grade) return;
  $("hint").textContent = "Saving…";
  const current = state.current;
  const url = current ? `/collections/${state.collection}/items/${current.id}` : `/collections/${state.collection}/items`;
  const headers = { "Content-Type": "application/geo+json" };
  if (current) headers["If-Match"] = etag;
  const mine = featureBody();
  const response = await api(url, { method: current ? "PUT" : "POST", headers, body: JSON.stringify(mine) });
  if (response.status === 412) return conflict(mine);
  if (!response.ok) { $("feature-error").textContent = await problem(response); return; }
  await saved(response);
}

async function saved(response) {
  const feature = await response.json();
  Object.assign(state, { current: feature, etag: response.headers.get("ETag") });
  openForm(feature.properties);
  $("hint").textContent = `Saved ${state.collection} ${feature.id}.`;
  await refresh();
}

/** Someone saved first: show their version beside mine and let the officer choose. */
async function conflict(mine) {
  const url = `/collections/${state.collection}/items/${state.current.id}`;
  const response = await api(url, { headers: { Accept: "application/geo+json" } });
  const box = $("conflict");
  box.hidden = false;
  $("hint").textContent = "Not saved: a conflict to resolve.";
  if (response.status === 404) {
    box.replaceChildren(el("p", {}, "Someone deleted this feature while you edited it."));
    return;
  }
  const theirs = await response.json();
  const newEtag = response.headers.get("ETag");
  const show = (f) => JSON.stringify(f.properties, ["code", "name", "category", "method", "inputs", "L", "E", "C", "S", "score", "level"], 1);
  box.replaceChildren(
    el("p", {}, "Someone else saved this feature after you opened it (412 Precondition Failed)."),
    el("h4", {}, "Their version"), el("pre", { id: "theirs" }, show(theirs)),
    el("h4", {}, "Yours"), el("pre", {}, show(mine)),
    el("button", { type: "button", id: "keep-mine", onclick: () => { box.hidden = true; save(newEtag); } }, "Keep mine"),
    el("button", { type: "button", id: "take-theirs", onclick: () => { box.hidden = true; select(state.collection, theirs.id); } }, "Take theirs"),
  );
}

async function remove() {
  if (!state.current || !confirm(`Delete ${state.current.properties.name}? It can be restored from its history.`)) return;
  const response = await api(`/collections/${state.collection}/items/${state.current.id}`,
    { method: "DELETE", headers: { "If-Match": state.etag } });
  if (response.status === 412) return conflict(featureBody());
  if (!response.ok) { $("feature-error").textContent = await problem(response); return; }
  // Keep the form open on the deleted feature: its history is where it can be brought back from.
  const kind = state.collection === "risk_zones" ? "zone" : "point";
  state.deleted = true;
  state.draft = [];
  drawDraft();
  $("save").hidden = $("delete").hidden = true;
  $("feature-title").textContent = `${kind[0].toUpperCase()}${kind.slice(1)} ${state.current.id} (deleted)`;
  await refresh();
  $("hint").textContent = `Deleted ${kind} ${state.current.id}. History lists its versions; Restore brings it back.`;
}

async function history() {
  const base = `/collections/${state.collection}/items/${state.current.id}`;
  const list = await getJSON(`${base}/versions`);
  state.lastVersion = Math.max(0, ...(list ? list.versions : []).map((v) => v.version));
  $("versions").replaceChildren(el("h3", {}, "History"), el("table", {}, (list ? list.versions : []).map((v) =>
    el("tr", {}, el("td", {}, `v${v.version}`), el("td", {}, v.operation || v.op || ""),
      el("td", {}, v.changed_by || v.user || ""), el("td", {}, (v.changed_at || v.at || "").slice(0, 19)),
      el("td", {}, el("button", { type: "button", onclick: () => restore(base, v.version) }, "Restore"))))));
}

async function restore(base, version) {
  $("hint").textContent = "Restoring…";
  // A deleted feature's ETag is its deletion's version (the last in its history).
  const etag = state.deleted ? `"${state.current.id}-${state.lastVersion}"` : state.etag;
  const response = await api(`${base}/versions/${version}/restore`, { method: "POST", headers: { "If-Match": etag } });
  if (!response.ok) { $("feature-error").textContent = await problem(response); return; }
  await saved(response);
}

main().catch((error) => console.error(error));
