// Analyst dashboard: a statistic (/stats) of the caller's jurisdiction by region and period, as a choropleth
// (region boundaries from f=geojson), a bar chart and a table; H3 hexagons or Gi* hot spots as a map
// option; exports (CSV, XLSX, GeoPackage, GeoParquet) fetched with the token and handed over as files.
import { api, el, problem, signedIn } from "../common/api.js";
import { barChart, format } from "./chart.js";
import { RAMP, colourCells, colourRegions, show, statsMap } from "./choropleth.js";

const $ = (id) => document.getElementById(id);
const state = { topics: [], groups: [], collection: null, cells: null, ticket: 0 };
let view;
window.dashboardLoads = 0; // the page tests wait for this to move after a filter changes

async function main() {
  const user = await signedIn();
  $("who").textContent = `${user.username} (${user.role}, ${user.org_code})`;
  const catalogue = await api("/stats", { headers: { Accept: "application/json" } });
  if (!catalogue.ok) { $("error").textContent = await problem(catalogue); window.dashboardReady = true; return; }
  const body = await catalogue.json();
  state.topics = body.topics;
  // Only the levels at and below the caller's own: nlevel(org path) 1 province … 4 school.
  const depth = user.org_path.split(".").length;
  state.groups = body.groups.slice(Math.min(depth, body.groups.length) - 1);
  fillFilters();
  view = statsMap("map", details);
  await view.ready;
  for (const id of ["topic", "group-by", "period", "layer", "res"]) $(id).onchange = () => load(id === "topic");
  $("measure").onchange = draw;
  for (const button of $("exports").querySelectorAll("button")) button.onclick = () => download(button.dataset.f);
  await load(true);
  window.dashboardReady = true;
}

function fillFilters() {
  $("topic").replaceChildren(...state.topics.map((t) => el("option", { value: t.name }, t.name.replace("_", " "))));
  $("group-by").replaceChildren(...state.groups.map((g) => el("option", { value: g }, g)));
  $("group-by").value = state.groups[Math.min(1, state.groups.length - 1)];
  const year = new Date().getFullYear();
  const periods = [["", "all time"], ...[year, year - 1, year - 2].flatMap((y) =>
    [[`${y}`, `${y}`], ...[1, 2, 3, 4].map((q) => [`${y}-Q${q}`, `${y} Q${q}`])])];
  $("period").replaceChildren(...periods.map(([v, label]) => el("option", { value: v }, label)));
}

const topic = () => state.topics.find((t) => t.name === $("topic").value);

function query(f) {
  const t = topic();
  const params = new URLSearchParams({ group_by: $("group-by").value, f });
  if (t.periods && $("period").value) params.set("period", $("period").value);
  return `/stats/${t.name}?${params}`;
}

async function load(topicChanged = false) {
  const t = topic();
  $("error").textContent = "";
  $("topic-title").textContent = t.title;
  $("period").disabled = !t.periods; // a register as it stands now (risks) has no period
  if (topicChanged) {
    $("measure").replaceChildren(...t.columns.map((c) => el("option", { value: c }, c.replaceAll("_", " "))));
  }
  const layer = $("layer").value;
  if (layer !== "regions" && !t.spatial) {
    $("error").textContent = `${t.name} have no location of their own: the map shows regions.`;
    $("layer").value = "regions";
  }
  const ticket = ++state.ticket; // filters changed faster than answers came: only the latest is drawn
  const response = await api(query("geojson"), { headers: { Accept: "application/geo+json" } });
  if (!response.ok) { $("error").textContent = await problem(response); return; }
  const collection = await response.json();
  const shown = $("layer").value === "regions" ? null : await cells(t);
  if (ticket !== state.ticket) return;
  Object.assign(state, { collection, cells: shown });
  draw();
  window.dashboardLoads += 1;
}

async function cells(t) {
  const params = new URLSearchParams({ topic: t.name, res: $("res").value });
  if (t.periods && $("period").value) params.set("period", $("period").value);
  const response = await api(`/stats/${$("layer").value}?${params}`);
  if (!response.ok) { $("error").textContent = await problem(response); return null; }
  return response.json();
}

function draw() {
  const measure = $("measure").value;
  const collection = state.collection;
  const bounds = colourRegions(collection, measure);
  const rows = collection.features.map((f) => f.properties);
  window.dashboardData = { rows, columns: collection.columns, measure, cells: state.cells };
  $("chart-title").textContent = `${measure.replaceAll("_", " ")} by ${collection.group_by}${collection.period ? `, ${collection.period}` : ""}`;
  $("chart").replaceChildren(barChart(rows, measure, (r) => r._colour));
  table(collection.columns, rows);
  if (state.cells) {
    legend(colourCells(state.cells, $("layer").value), $("layer").value === "hotspots" ? "Gi* at the chosen significance" : "count per hexagon");
    show(view, state.cells);
  } else {
    legend(bounds, measure);
    const drawn = show(view, collection);
    if (!drawn) $("legend").append(el("p", { class: "note" }, "No boundary is stored for these regions."));
  }
}

function table(columns, rows) {
  const numeric = (c) => rows.some((r) => typeof r[c] === "number") && !["code", "name", "level"].includes(c);
  $("table").replaceChildren(
    el("tr", {}, columns.map((c) => el("th", { class: numeric(c) ? "num" : "" }, c))),
    ...rows.map((r) => el("tr", { "data-code": r.code }, columns.map((c) =>
      el("td", { class: numeric(c) ? "num" : "", "data-col": c }, numeric(c) ? format(r[c]) : String(r[c] ?? ""))))),
  );
}

function legend(bounds, title) {
  const entries = bounds.map((b, i) => (Array.isArray(b)
    ? [b[1], b[0]]
    : [RAMP[Math.round((i * (RAMP.length - 1)) / Math.max(1, bounds.length - 1))], `≤ ${format(b)}`]));
  $("legend").replaceChildren(el("strong", {}, title.replaceAll("_", " ")),
    ...entries.map(([colour, label]) => el("div", {}, el("span", { class: "swatch", style: `background:${colour}` }), label)));
}

function details(props) {
  const box = $("details");
  box.hidden = false;
  box.replaceChildren(el("table", {}, Object.entries(props).filter(([k]) => !k.startsWith("_"))
    .map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, typeof v === "number" ? format(v) : String(v))))));
}

/** The export, fetched with the token (a plain link would be refused) and saved under the server's name. */
async function download(f) {
  const response = await api(query(f));
  if (!response.ok) { $("error").textContent = await problem(response); return; }
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || `statistics.${f}`;
  const link = el("a", { href: URL.createObjectURL(await response.blob()), download: name });
  document.body.append(link);
  link.click();
  link.remove();
}

main().catch((error) => console.error(error));
