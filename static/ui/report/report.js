// One-click hazard report from a phone: a photo from the camera, where you are (GPS, or a tap on the
// map), what is wrong; filed with POST /hazards (multipart, photo included). Every report is first kept
// in IndexedDB with an Idempotency-Key, then sent; a report the network loses stays there and is sent
// again when the phone is back online (or on "Send now"), and the key makes a resend after a lost answer
// return the hazard already stored instead of a second one.
import { Unauthorized, api, el, problem, signedIn } from "../common/api.js";
import { campusMap, firstCampus, maplibregl } from "../common/map.js";

const $ = (id) => document.getElementById(id);
// twin/models/risk.py RISK_CATEGORIES; the server refuses any other (a test compares the two).
const CATEGORIES = ["fire", "buildings", "laboratory", "canteen", "dormitory", "traffic", "sports", "utilities",
  "crowd", "events", "drowning", "bullying", "security", "natural_disaster", "epidemic"];
const RETRY_MS = 30_000; // while reports wait and the browser believes it is online anyway

let where = null; // {lon, lat, how}
let marker = null;
let map = null;

// --- the queue in IndexedDB -------------------------------------------------------------------------
const DB = "twin-report", STORE = "outbox";

function database() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: "key" });
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

async function store(mode, work) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = work(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(request && request.result); };
    tx.onerror = () => { db.close(); reject(tx.error); };
  });
}

const queued = () => store("readonly", (s) => s.getAll());
const keep = (report) => store("readwrite", (s) => s.put(report));
const forget = (key) => store("readwrite", (s) => s.delete(key));

// --- sending ------------------------------------------------------------------------------------------
let flushing = false;

/** Send every waiting report, oldest first; stop at the first one the network loses. */
async function flush() {
  if (flushing) return;
  flushing = true;
  try {
    const reports = (await queued()).sort((a, b) => a.created - b.created);
    for (const report of reports) {
      if (!(await send(report))) break;
    }
  } finally {
    flushing = false;
    await showWaiting();
  }
}

/** True when the report is settled (stored, or refused for good); false when it must wait. */
async function send(report) {
  const form = new FormData();
  for (const [k, v] of Object.entries(report.fields)) form.append(k, v);
  if (report.photo) form.append("photos", report.photo, report.photoName || "photo.jpg");
  let response;
  try {
    response = await api("/hazards", { method: "POST", body: form, headers: { "Idempotency-Key": report.key } });
  } catch (error) {
    if (error instanceof Unauthorized) throw error; // kept; sent after the sign-in
    $("status").textContent = "Saved on this phone; it will be sent when the network is back.";
    return false; // the network: keep it, try again later
  }
  if (response.status >= 500) {
    $("status").textContent = "The server could not take it now; it stays saved on this phone.";
    return false;
  }
  await forget(report.key);
  if (response.ok) {
    const hazard = await response.json();
    $("status").textContent = `Sent: ${hazard.number} (${hazard.name})`;
    $("status").dataset.hazard = hazard.id;
    $("error").textContent = "";
  } else {
    // A 4xx will not get better by sending again: say why and drop it.
    $("status").textContent = "";
    $("error").textContent = `Not sent — ${await problem(response)}`;
  }
  return true;
}

async function showWaiting() {
  const n = (await queued()).length;
  $("queued").textContent = String(n);
  $("waiting").hidden = n === 0;
  document.body.dataset.queued = String(n);
}

// --- the form -------------------------------------------------------------------------------------------
async function submit(event) {
  event.preventDefault();
  $("error").textContent = "";
  const name = $("name").value.trim();
  if (!name) return void ($("error").textContent = "Say in a few words what is wrong.");
  if (!where) return void ($("error").textContent = "Say where: allow the location, or tap the map.");
  const photo = $("photo").files[0] || null;
  const report = {
    key: crypto.randomUUID(),
    created: Date.now(),
    fields: { name, category: $("category").value, lon: String(where.lon), lat: String(where.lat) },
    photo,
    photoName: photo ? photo.name : null,
  };
  await keep(report); // before the network: a report is never only in memory
  $("report").reset();
  $("preview").hidden = true;
  $("status").textContent = "Sending…";
  await showWaiting();
  await flush();
}

function place(lon, lat, how) {
  where = { lon, lat, how };
  $("where").textContent = how === "gps"
    ? `📍 Your location (${lat.toFixed(5)}, ${lon.toFixed(5)}); tap the map to change it.`
    : `📍 The point you tapped (${lat.toFixed(5)}, ${lon.toFixed(5)}).`;
  $("where").dataset.how = how;
  if (map) {
    marker = marker || new maplibregl.Marker({ color: "#d00" });
    marker.setLngLat([lon, lat]).addTo(map);
  }
}

function locate() {
  if (!navigator.geolocation) return void ($("where").textContent = "No location on this device: tap the map.");
  navigator.geolocation.getCurrentPosition(
    (p) => { if (!where || where.how === "gps") place(p.coords.longitude, p.coords.latitude, "gps"); },
    () => { if (!where) $("where").textContent = "Location not allowed: tap the map where the hazard is."; },
    { enableHighAccuracy: true, timeout: 10_000, maximumAge: 60_000 },
  );
}

function preview() {
  const file = $("photo").files[0];
  if (!file) return;
  $("preview").src = URL.createObjectURL(file);
  $("preview").hidden = false;
}

async function main() {
  await signedIn();
  $("category").append(...CATEGORIES.map((c) => el("option", { value: c }, c.replace("_", " "))));
  $("report").addEventListener("submit", submit);
  $("photo").addEventListener("change", preview);
  $("retry").addEventListener("click", flush);
  window.addEventListener("online", flush);
  setInterval(() => { if (navigator.onLine) flush(); }, RETRY_MS);
  map = campusMap("map", await firstCampus().catch(() => null), { attributionControl: false });
  map.on("click", (e) => place(e.lngLat.lng, e.lngLat.lat, "tap"));
  if (where) place(where.lon, where.lat, where.how);
  locate();
  await flush(); // reports left from an earlier visit
  window.reportReady = true;
}

main().catch((error) => { $("error").textContent = String(error); console.error(error); });
