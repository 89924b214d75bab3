// Sign-in and fetch for every page: the token lives in sessionStorage; a 401 shows the form again.
const KEY = "twin.token";

export class Unauthorized extends Error {}

export function token() {
  return sessionStorage.getItem(KEY);
}

export function signOut() {
  sessionStorage.removeItem(KEY);
  location.reload();
}

/** fetch with the bearer token; returns the Response (callers look at status). 401 → sign-in form. */
export async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (token()) headers.set("Authorization", `Bearer ${token()}`);
  if (options.json !== undefined) {
    headers.set("Content-Type", "application/json");
    options = { ...options, body: JSON.stringify(options.json) };
  }
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) {
    sessionStorage.removeItem(KEY);
    showLogin();
    throw new Unauthorized(`sign in again (${path})`);
  }
  return response;
}

/** GET JSON, or null when the endpoint is not there (404/501: another part not deployed yet). */
export async function getJSON(path) {
  const response = await api(path, { headers: { Accept: "application/json" } });
  if (response.status === 404 || response.status === 501) return null;
  if (!response.ok) throw new Error(await problem(response));
  return response.json();
}

/** The problem+json `detail` (or the status) of a failed response, for a person to read. */
export async function problem(response) {
  try {
    const body = await response.json();
    return body.detail ? `${body.title || response.status}: ${body.detail}` : JSON.stringify(body);
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

/** The signed-in user, with `org_code` (the last label of the org path). */
export async function me() {
  const who = await getJSON("/me");
  return { ...who, org_code: who.org_path.split(".").pop() };
}

let loginResolvers = [];

/** Show the sign-in form; resolves once a token is stored. */
export function showLogin() {
  let form = document.getElementById("login");
  if (!form) {
    form = document.createElement("form");
    form.id = "login";
    form.innerHTML = `<h2>Campus Twin — sign in</h2>
      <label>User <input name="username" autocomplete="username" required></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
      <button type="submit">Sign in</button><p class="error" role="alert"></p>`;
    form.addEventListener("submit", submitLogin);
    document.body.append(form);
  }
  form.hidden = false;
  return new Promise((resolve) => loginResolvers.push(resolve));
}

async function submitLogin(event) {
  event.preventDefault();
  const form = event.target;
  const response = await fetch("/auth/token", { method: "POST", body: new URLSearchParams(new FormData(form)) });
  if (!response.ok) {
    form.querySelector(".error").textContent = await problem(response);
    return;
  }
  sessionStorage.setItem(KEY, (await response.json()).access_token);
  form.hidden = true;
  const waiting = loginResolvers;
  loginResolvers = [];
  waiting.forEach((resolve) => resolve());
}

/** Resolve to the signed-in user, asking for a sign-in first when there is no valid token. */
export async function signedIn() {
  for (;;) {
    if (!token()) await showLogin();
    try {
      return await me();
    } catch (error) {
      if (!(error instanceof Unauthorized)) throw error;
    }
  }
}

/** Open the live WebSocket (token as subprotocol, never in the URL); reconnects, resuming after the last id. */
export function liveSocket(onMessage) {
  let last = null;
  let closed = false;
  const open = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const url = `${scheme}://${location.host}/live/ws${last !== null ? `?since=${last}` : ""}`;
    const socket = new WebSocket(url, ["bearer", token()]);
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.id !== undefined) last = message.id;
      if (message.last_id !== undefined) last = message.last_id;
      onMessage(message);
    };
    socket.onclose = () => { if (!closed) setTimeout(open, 2000); };
    return socket;
  };
  let socket = open();
  return { close() { closed = true; socket.close(); } };
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined));
  return node;
}
