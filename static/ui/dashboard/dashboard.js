// Dashboard stub: lists the /stats topics once the statistics work is deployed; says so until then.
import { el, getJSON, signedIn } from "../common/api.js";

const $ = (id) => document.getElementById(id);

async function main() {
  const user = await signedIn();
  $("who").textContent = `${user.username} (${user.role}, ${user.org_code})`;
  const stats = await getJSON("/stats").catch(() => null);
  const topics = !stats ? [] : Array.isArray(stats) ? stats : stats.topics || stats.links || [];
  $("topics").replaceChildren(...(topics.length
    ? topics.map((t) => el("li", {}, typeof t === "string" ? t : t.title || t.id || t.href || JSON.stringify(t)))
    : [el("li", { class: "note", id: "no-stats" }, "Statistics are not available yet.")]));
  window.dashboardReady = true;
}

main().catch((error) => console.error(error));
