// The messaging hub with the official client, unchanged: @microsoft/signalr (JSON and
// MessagePack) against a real pawpost server. Waits have deadlines; nothing sleeps.
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

test("a message sent with a tempId reaches both sides and the sender's other device", async () => {
  const alice = server.token("alice");
  const bob = server.token("bob", "provider");
  const bobHub = connection(bob);
  const aliceWeb = connection(alice);
  const alicePhone = connection(alice, { msgpack: true });
  await Promise.all([bobHub.start(), aliceWeb.start(), alicePhone.start()]);
  try {
    // The conversation is created after everyone connected.
    const bobGets = nextEvent(bobHub, "ReceiveMessage");
    const created = await rest(server, alice, "POST", "/conversations", {
      type: "direct", participants: ["bob"], initialMessage: "Can you walk Rex on Friday?",
    });
    assert.equal(created.status, 201);
    const conversationId = created.body.conversationId;
    const first = await bobGets;
    assert.equal(first.message.content, "Can you walk Rex on Friday?");
    assert.equal(first.conversationId, conversationId);
    assert.equal(typeof first.seq, "number");
    assert.equal(typeof first.cursor, "string");

    const onBob = nextEvent(bobHub, "ReceiveMessage", (p) => p.tempId === "web-1");
    const onPhone = nextEvent(alicePhone, "ReceiveMessage", (p) => p.tempId === "web-1");
    const sent = await aliceWeb.invoke("SendMessage", { conversationId, content: "9am at the park?", tempId: "web-1" });
    assert.equal(sent.tempId, "web-1");
    assert.equal(sent.message.content, "9am at the park?");
    const [b, p] = await Promise.all([onBob, onPhone]);
    assert.equal(b.message.id, sent.message.id);
    assert.equal(p.message.id, sent.message.id, "MessagePack device got the same message");
    assert.ok(b.seq > first.seq, "per-conversation order");
  } finally {
    await Promise.all([bobHub.stop(), aliceWeb.stop(), alicePhone.stop()]);
  }
});

test("no token is refused with 401", async () => {
  const anonymous = new signalR.HubConnectionBuilder()
    .withUrl(server.hub)
    .configureLogging(signalR.LogLevel.None)
    .build();
  await assert.rejects(anonymous.start(), /401|Unauthorized/);
});

test("an unknown method and a non-participant's send fail without dropping the connection", async () => {
  const eve = connection(server.token("eve"));
  await eve.start();
  try {
    await assert.rejects(eve.invoke("NoSuchMethod"), /Unknown hub method/);
    await assert.rejects(
      eve.invoke("SendMessage", { conversationId: "0190b6d2-0000-7000-8000-000000000001", content: "hi" }),
      /not_found/,
    );
    assert.equal(eve.state, signalR.HubConnectionState.Connected);
  } finally {
    await eve.stop();
  }
});
