// Typing and presence over the messaging hub with the official client (@microsoft/signalr,
// JSON and MessagePack) against a real pawpost server. Waits have deadlines.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as signalR from "@microsoft/signalr";
import { startServer, rest, hubConnection, nextEvent } from "./server.mjs";

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

function connection(token, opts) {
  return hubConnection(server, token, opts);
}

// Starts connections and waits until the server has set them up: it answers the handshake
// before joining a connection's groups, but invocations only after, so one refused round trip
// (an unknown method) proves the joins happened.
async function ready(...conns) {
  await Promise.all(conns.map(async (c) => {
    await c.start();
    await assert.rejects(c.invoke("Ready"), /Unknown hub method/);
  }));
}

// A direct conversation between `a` and `b` (both made known first); its id.
async function direct(a, aToken, b, bToken) {
  for (const t of [aToken, bToken]) assert.equal((await rest(server, t, "GET", "/conversations")).status, 200);
  const created = await rest(server, aToken, "POST", "/conversations", {
    type: "direct", participants: [b], initialMessage: "hello",
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.conversationId;
}

test("typing reaches the other participant, not the typer's other device, and stops on its own", async () => {
  const carol = server.token("carol");
  const dave = server.token("dave", "provider");
  const conversationId = await direct("carol", carol, "dave", dave);
  const daveHub = connection(dave);
  const carolWeb = connection(carol);
  const carolPhone = connection(carol, { msgpack: true });
  await ready(daveHub, carolWeb, carolPhone);
  const onPhone = [];
  carolPhone.on("UserTyping", (p) => onPhone.push(p));
  try {
    const started = nextEvent(daveHub, "UserTyping");
    await carolWeb.invoke("StartTyping", conversationId);
    assert.deepEqual(await started, { conversationId, userId: "carol", isTyping: true });

    const stopped = nextEvent(daveHub, "UserTyping");
    await carolWeb.invoke("StopTyping", conversationId);
    assert.deepEqual(await stopped, { conversationId, userId: "carol", isTyping: false });

    // Not refreshed: the stop arrives by itself (6 s after the start).
    const again = nextEvent(daveHub, "UserTyping", (p) => p.isTyping);
    await carolWeb.invoke("StartTyping", conversationId);
    await again;
    const auto = await nextEvent(daveHub, "UserTyping", (p) => !p.isTyping, 10_000);
    assert.deepEqual(auto, { conversationId, userId: "carol", isTyping: false });

    // Dave types: carol's phone hears it, and nothing of carol's own typing.
    const daveTyping = nextEvent(carolPhone, "UserTyping", (p) => p.userId === "dave");
    await daveHub.invoke("StartTyping", conversationId);
    assert.equal((await daveTyping).isTyping, true);
    assert.deepEqual(onPhone.map((p) => p.userId), ["dave"]);
  } finally {
    await Promise.all([daveHub.stop(), carolWeb.stop(), carolPhone.stop()]);
  }
});

test("a non-participant's StartTyping fails and the connection stays up", async () => {
  const grace = server.token("grace");
  const heidi = server.token("heidi");
  const conversationId = await direct("grace", grace, "heidi", heidi);
  const mallory = connection(server.token("mallory"));
  await ready(mallory);
  try {
    await assert.rejects(mallory.invoke("StartTyping", conversationId), /not_found/);
    await assert.rejects(mallory.invoke("UpdatePresence", "sleeping"), /status/);
    const mine = await mallory.invoke("UpdatePresence", "busy", "walking dogs");
    assert.equal(mine.status, "busy");
    assert.equal(mine.statusMessage, "walking dogs");
    assert.equal(mallory.state, signalR.HubConnectionState.Connected);
  } finally {
    await mallory.stop();
  }
});

test("presence: online on the first device, offline only after the last one closes", async () => {
  const ivan = server.token("ivan");
  const judy = server.token("judy", "provider");
  await direct("ivan", ivan, "judy", judy);
  const judyHub = connection(judy);
  await ready(judyHub);
  const seen = [];
  judyHub.on("PresenceChanged", (p) => { if (p.userId === "ivan") seen.push(p.status); });
  const ivanWeb = connection(ivan);
  const ivanPhone = connection(ivan, { msgpack: true });
  try {
    const online = nextEvent(judyHub, "PresenceChanged", (p) => p.userId === "ivan");
    await ready(ivanWeb);
    const first = await online;
    assert.equal(first.status, "online");
    assert.equal(typeof first.lastSeen, "string");

    await ready(ivanPhone);
    const away = nextEvent(judyHub, "PresenceChanged", (p) => p.userId === "ivan" && p.status === "away");
    await ivanPhone.invoke("UpdatePresence", "away", "at the groomer");
    assert.equal((await away).statusMessage, "at the groomer");

    await ivanWeb.stop();
    // Beyond the 2 s grace: one device is left, so still away.
    await new Promise((r) => setTimeout(r, 2_500));
    const now = await rest(server, judy, "POST", "/presence/get", { userIds: ["ivan"] });
    assert.equal(now.body.presence[0].status, "away", JSON.stringify(now.body));

    const offline = nextEvent(judyHub, "PresenceChanged", (p) => p.userId === "ivan" && p.status === "offline");
    await ivanPhone.stop();
    const last = await offline;
    assert.equal(typeof last.lastSeen, "string");
    assert.deepEqual(seen, ["online", "away", "offline"]);
  } finally {
    await Promise.all([judyHub.stop(), ivanWeb.stop(), ivanPhone.stop()]);
  }
});

test("a call: ring, reject; then ring, accept, ICE relayed to the peer, end", async () => {
  const kim = server.token("kim");
  const leo = server.token("leo", "provider");
  const conversationId = await direct("kim", kim, "leo", leo);
  const kimHub = connection(kim);
  const leoHub = connection(leo, { msgpack: true });
  await ready(kimHub, leoHub);
  try {
    let ring = nextEvent(leoHub, "IncomingCall");
    const first = await kimHub.invoke("InitiateCall", conversationId, "audio");
    assert.equal(typeof first.callId, "string");
    assert.deepEqual(await ring, { callId: first.callId, conversationId, from: "kim", callType: "audio" });
    const rejected = nextEvent(kimHub, "CallRejected");
    await leoHub.invoke("RejectCall", first.callId);
    assert.equal((await rejected).by, "leo");
    await assert.rejects(leoHub.invoke("AcceptCall", first.callId), /not_found/);

    ring = nextEvent(leoHub, "IncomingCall");
    const second = await kimHub.invoke("InitiateCall", conversationId, "video");
    assert.equal((await ring).callId, second.callId);
    const accepted = nextEvent(kimHub, "CallAccepted");
    await leoHub.invoke("AcceptCall", second.callId);
    assert.equal((await accepted).by, "leo");
    const ice = nextEvent(kimHub, "ReceiveIceCandidate");
    await leoHub.invoke("SendIceCandidate", second.callId, { candidate: "candidate:1 1 udp 1 10.0.0.1 9 typ host" });
    assert.deepEqual(await ice, {
      callId: second.callId, from: "leo", payload: { candidate: "candidate:1 1 udp 1 10.0.0.1 9 typ host" },
    });
    const ended = nextEvent(leoHub, "CallEnded");
    await kimHub.invoke("EndCall", second.callId);
    const end = await ended;
    assert.equal(end.reason, "ended");
    assert.equal(end.by, "kim");
  } finally {
    await Promise.all([kimHub.stop(), leoHub.stop()]);
  }
});

test("an unanswered call ends as missed after 45 s and leaves a missed-call message, on idle connections kept alive by pings", { timeout: 90_000 }, async () => {
  const nia = server.token("nia");
  const omar = server.token("omar", "provider");
  const conversationId = await direct("nia", nia, "omar", omar);
  const niaHub = connection(nia);
  const omarHub = connection(omar);
  await ready(niaHub, omarHub);
  try {
    const ring = nextEvent(omarHub, "IncomingCall");
    const note = nextEvent(omarHub, "ReceiveMessage", (p) => p.message.type === "system", 60_000);
    const { callId } = await niaHub.invoke("InitiateCall", conversationId, "video");
    assert.equal((await ring).callId, callId);
    const ended = await nextEvent(niaHub, "CallEnded", (p) => p.callId === callId, 60_000);
    assert.equal(ended.reason, "missed");
    assert.equal(niaHub.state, signalR.HubConnectionState.Connected, "idle past 30 s and still up");
    // The history keeps a system message for it, in the caller's name.
    const { message } = await note;
    assert.equal(message.systemMessageType, "call.missed");
    assert.equal(message.content, "Missed video call");
    assert.equal(message.senderId, "nia");
    assert.equal(message.conversationId, conversationId);
  } finally {
    await Promise.all([niaHub.stop(), omarHub.stop()]);
  }
});
