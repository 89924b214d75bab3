// The live benchmark's load: the QoS 1 publisher, the WebSocket clients and the plain MQTT subscribers
// (bench/live.py drives it). Node, not Python: with 200 clients on 2 shared cores the Python clients
// (a paho network thread per subscriber, websockets frames parsed in pure Python) were the bench's own
// bottleneck and put their GIL and CPU waits into both rows' tails; one event loop here is cheap enough
// that the rows measure the broker and the server, not the clients.
//
// `node bench/live_clients.mjs MODE` reads one JSON line of settings on stdin.
//   publish: {url, topics, rate, seconds, tag} -> stdout: JSON [[topic index, payload time text], ...]
//   ws:      {url, tokens}     -> "ready" once every socket has its snapshot; on a "stop" line,
//            JSON [{deltas: [[arrival s, sensor id, last_at text], ...], messages}, ...] per token
//   mqtt:    {url, topicSets}  -> "ready" once every subscription is granted; on "stop",
//            JSON [{arrivals: [[arrival s, payload time text], ...], messages}, ...] per topic set
// Times are wall-clock seconds with microseconds (performance.timeOrigin + now()), comparable with
// Python's time.time() on the same machine; payload times are written with microseconds so that a
// delta's last_at matches the published time exactly.

import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";

const require = createRequire(new URL("../tools/package.json", import.meta.url));
const mqtt = require("mqtt");
const WebSocket = require("ws");

const nowSeconds = () => (performance.timeOrigin + performance.now()) / 1000;

/** ISO 8601 in UTC with microseconds, as Python's datetime.isoformat() writes it. */
function isoMicros(seconds) {
  const total = Math.round(seconds * 1e6); // whole microseconds: exact below 2^53
  const whole = Math.floor(total / 1e6);
  const micros = total - whole * 1e6;
  const base = new Date(whole * 1000).toISOString().slice(0, 19);
  return `${base}.${String(micros).padStart(6, "0")}+00:00`;
}

function lines() {
  const rl = createInterface({ input: process.stdin });
  const queue = [];
  const waiting = [];
  rl.on("line", (line) => (waiting.length ? waiting.shift()(line) : queue.push(line)));
  rl.on("close", () => waiting.splice(0).forEach((resolve) => resolve("stop")));
  return () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiting.push(r)));
}

function connectMqtt(url, clientId) {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { protocolVersion: 5, clean: true, clientId, reconnectPeriod: 0 });
    client.once("connect", () => resolve(client));
    client.once("error", reject);
  });
}

async function publish({ url, topics, rate, seconds, tag }) {
  const client = await connectMqtt(url, `bench-pub-${tag}`);
  const total = Math.floor(rate * seconds);
  const sent = [];
  const acks = [];
  const start = performance.now();
  let i = 0;
  while (i < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    for (; i < due; i++) {
      const k = i % topics.length;
      const time = isoMicros(nowSeconds());
      const payload = JSON.stringify({ event_id: `${tag}-${i}`, type: "water_pressure", severity: "minor", time });
      acks.push(new Promise((resolve) => client.publish(topics[k], payload, { qos: 1 }, resolve)));
      sent.push([k, time]); // the payload's own text: parsed like the deltas' last_at, so they compare exactly
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(acks);
  await client.endAsync();
  return sent;
}

async function wsClients({ url, tokens }, next) {
  const received = tokens.map(() => []);
  const sockets = await Promise.all(
    tokens.map(
      (token, n) =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(`${url}?access_token=${token}`, { perMessageDeflate: false });
          let snapshot = false;
          ws.on("message", (data) => {
            if (!snapshot) {
              snapshot = true;
              resolve(ws);
            } else {
              received[n].push([nowSeconds(), data]);
            }
          });
          ws.once("error", reject);
        }),
    ),
  );
  console.log("ready");
  while ((await next()) !== "stop");
  sockets.forEach((ws) => ws.terminate());
  return received.map((arrivals) => {
    const deltas = [];
    for (const [at, data] of arrivals) {
      const event = JSON.parse(data);
      const action = event.kind === "alert" && event.data.action;
      if (action === "raised" || action === "repeated") {
        deltas.push([at, event.data.alert.sensor_id, event.data.alert.last_at]);
      }
    }
    return { deltas, messages: arrivals.length };
  });
}

async function mqttSubscribers({ url, topicSets }, next) {
  const received = topicSets.map(() => []);
  const clients = await Promise.all(
    topicSets.map(async (topics, n) => {
      const client = await connectMqtt(url, `bench-sub-${process.pid}-${n}`);
      client.on("message", (_topic, payload) => received[n].push([nowSeconds(), payload]));
      await client.subscribeAsync(topics, { qos: 1 });
      return client;
    }),
  );
  console.log("ready");
  while ((await next()) !== "stop");
  await Promise.all(clients.map((client) => client.endAsync(true)));
  return received.map((arrivals) => ({
    arrivals: arrivals.map(([at, payload]) => [at, JSON.parse(payload).time]),
    messages: arrivals.length,
  }));
}

const MODES = { publish, ws: wsClients, mqtt: mqttSubscribers };

async function main() {
  const mode = MODES[process.argv[2]];
  if (!mode) throw new Error(`mode: one of ${Object.keys(MODES).join(", ")}`);
  const next = lines();
  const settings = JSON.parse(await next());
  const answer = `${JSON.stringify(await mode(settings, next))}\n`;
  // exit only once the pipe has taken the whole answer: a pipe's write is asynchronous
  process.stdout.write(answer, () => process.exit(0));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
