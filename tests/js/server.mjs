// Starts a real pawpost server for the tests (the binary from PAWPOST_BIN, a fresh data dir,
// SQLite unless PAWPOST_JS_PG_ADMIN_URL names a PostgreSQL server: then each server gets a
// fresh database of its own, made and dropped with psql) and mints tokens with `pawpost token`.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

/// Launches the binary on `bind` with `dataDir`; resolves to the child and its URL.
async function launch(bin, bind, dataDir, database) {
  const args = ["serve", "--bind", bind, "--data-dir", dataDir];
  if (database) args.push("--database", database);
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, RUST_LOG: "warn" } });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the server did not start within 60 s")), 60_000);
    child.once("exit", (code) => reject(new Error(`the server exited with ${code}`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const m = line.match(/^pawpost listening on (http:\/\/\S+)$/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
  });
  return { child, url };
}

// Resolves as `promise` does, or rejects naming `what` after `ms`: no wait without a deadline.
export function within(promise, what, ms = 30_000) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function terminate(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  try {
    await within(exited, "the server stopping on SIGTERM");
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
}

export async function startServer() {
  const bin = process.env.PAWPOST_BIN;
  if (!bin) throw new Error("set PAWPOST_BIN to the pawpost binary (.ci/run does)");
  const dataDir = mkdtempSync(join(tmpdir(), "pawpost-js-"));
  const admin = process.env.PAWPOST_JS_PG_ADMIN_URL;
  let database = null;
  let dbName = null;
  if (admin) {
    dbName = `pawpost_t_js_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    execFileSync("psql", [admin, "-qc", `create database ${dbName}`]);
    database = `${admin.slice(0, admin.lastIndexOf("/"))}/${dbName}`;
  }
  let { child, url } = await launch(bin, "127.0.0.1:0", dataDir, database);
  return {
    url,
    hub: `${url}/hubs/messaging`,
    api: `${url}/api/v1/messaging`,
    token(sub, role = "owner") {
      const name = sub[0].toUpperCase() + sub.slice(1);
      return execFileSync(bin, ["token", "--sub", sub, "--name", name, "--role", role, "--data-dir", dataDir], { encoding: "utf8" }).trim();
    },
    // Stops the server (its hub connections get Close with allowReconnect) and starts it again
    // on the same address and data.
    async restart() {
      await terminate(child);
      ({ child } = await launch(bin, new URL(url).host, dataDir, database));
    },
    async stop() {
      await terminate(child);
      rmSync(dataDir, { recursive: true, force: true });
      if (dbName) execFileSync("psql", [admin, "-qc", `drop database if exists ${dbName} with (force)`]);
    },
  };
}

// A REST call as `token`; resolves to { status, body }.
export async function rest(server, token, method, path, body) {
  const res = await fetch(`${server.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

// A hub connection to `srv` as `token`: JSON, or MessagePack with `msgpack`; with
// `reconnectDelays`, automatic reconnection after those delays (ms).
export function hubConnection(srv, token, { msgpack = false, reconnectDelays = null } = {}) {
  let builder = new signalR.HubConnectionBuilder()
    .withUrl(srv.hub, { accessTokenFactory: () => token })
    .configureLogging(signalR.LogLevel.None);
  if (msgpack) builder = builder.withHubProtocol(new MessagePackHubProtocol());
  if (reconnectDelays) builder = builder.withAutomaticReconnect(reconnectDelays);
  return builder.build();
}

// Resolves with the first `event` payload matching `pred`, within `ms`.
export function nextEvent(conn, event, pred = () => true, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { conn.off(event, handler); reject(new Error(`no ${event} within ${ms} ms`)); }, ms);
    function handler(payload) {
      if (!pred(payload)) return;
      clearTimeout(timer);
      conn.off(event, handler);
      resolve(payload);
    }
    conn.on(event, handler);
  });
}
