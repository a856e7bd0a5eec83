// Message events and recovery with the official client: read receipts, reactions, edits and
// deletions pushed to the others; a client with withAutomaticReconnect comes back after the
// server restarts and its Sync(cursor) returns exactly what it missed, in order.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, rest, hubConnection, nextEvent, within } from "./server.mjs";

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

function connection(srv, token, reconnectDelays) {
  return hubConnection(srv, token, { reconnectDelays });
}

async function directConversation(srv, alice, bob) {
  await rest(srv, bob, "GET", "/conversations");
  const created = await rest(srv, alice, "POST", "/conversations", { type: "direct", participants: ["bob"], initialMessage: "hello" });
  assert.ok([200, 201].includes(created.status), JSON.stringify(created.body));
  return { id: created.body.conversationId, first: created.body.conversation.lastMessage.id };
}

test("read receipts, reactions, edits and deletions reach the other side", async () => {
  const alice = server.token("alice");
  const bob = server.token("bob", "provider");
  const conv = await directConversation(server, alice, bob);
  const a = connection(server, alice);
  const b = connection(server, bob);
  await Promise.all([a.start(), b.start()]);
  try {
    const read = nextEvent(a, "MessagesRead");
    await b.invoke("MarkAsRead", conv.id, conv.first);
    const r = await read;
    assert.equal(r.userId, "bob");
    assert.equal(r.lastReadMessageId, conv.first);

    const reaction = nextEvent(b, "ReactionAdded");
    await a.invoke("AddReaction", conv.first, "🐶");
    assert.deepEqual(
      (({ messageId, userId, reaction }) => ({ messageId, userId, reaction }))(await reaction),
      { messageId: conv.first, userId: "alice", reaction: "🐶" },
    );
    const edited = nextEvent(b, "MessageEdited");
    await a.invoke("EditMessage", conv.first, "hello, edited");
    assert.equal((await edited).content, "hello, edited");
    await assert.rejects(b.invoke("EditMessage", conv.first, "not mine"), /forbidden/);
    const deleted = nextEvent(b, "MessageDeleted");
    await a.invoke("DeleteMessage", conv.first, true);
    assert.equal((await deleted).messageId, conv.first);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test("an oversized message closes the connection with an error", async () => {
  const conn = connection(server, server.token("zoe"));
  await conn.start();
  const closed = new Promise((resolve) => conn.onclose(resolve));
  conn.send("SendMessage", { conversationId: "x", content: "x".repeat(64 * 1024) }).catch(() => {});
  const error = await within(closed, "the connection closing");
  assert.match(String(error), /too large/);
});

test("withAutomaticReconnect comes back after a server restart and Sync returns exactly what was missed", async () => {
  const srv = await startServer();
  try {
    const alice = srv.token("alice");
    const bob = srv.token("bob", "provider");
    const conv = await directConversation(srv, alice, bob);
    const b = connection(srv, bob, [0, 500, 1000, 1000, 2000, 2000, 5000, 5000, 10000]);
    let cursor = null;
    b.on("ReceiveMessage", (p) => { cursor = p.cursor; });
    await b.start();
    const one = nextEvent(b, "ReceiveMessage", (p) => p.message.content === "one");
    await rest(srv, alice, "POST", `/conversations/${conv.id}/messages`, { content: "one" });
    await one;
    const seen = cursor;
    const reconnected = new Promise((resolve) => b.onreconnected(resolve));
    await srv.restart();
    for (const content of ["two", "three"]) {
      const sent = await rest(srv, alice, "POST", `/conversations/${conv.id}/messages`, { content });
      assert.equal(sent.status, 201);
    }
    await within(reconnected, "the client reconnecting", 60_000);
    const page = await b.invoke("Sync", seen);
    const missed = page.events.filter((e) => e.type === "MessageSent").map((e) => e.data.content);
    assert.deepEqual(missed, ["two", "three"]);
    await b.stop();
  } finally {
    await srv.stop();
  }
});

test("a removed participant stops receiving at once", async () => {
  const alice = server.token("alice");
  const bob = server.token("bob", "provider");
  const carol = server.token("carol");
  for (const t of [bob, carol]) await rest(server, t, "GET", "/conversations");
  const created = await rest(server, alice, "POST", "/conversations", { type: "group", title: "Groomers", participants: ["bob", "carol"] });
  assert.equal(created.status, 201);
  const id = created.body.conversationId;
  const b = connection(server, bob);
  const c = connection(server, carol);
  await Promise.all([b.start(), c.start()]);
  try {
    const toBob = [];
    const removed = nextEvent(b, "ParticipantsChanged", (p) => (p.removed || []).includes("bob"));
    b.on("ReceiveMessage", (p) => toBob.push(p.message.content));
    const del = await fetch(`${server.api}/conversations/${id}/participants`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${alice}`, "content-type": "application/json" },
      body: JSON.stringify({ userId: "bob" }),
    });
    assert.equal(del.status, 204);
    await removed;
    const carolGets = nextEvent(c, "ReceiveMessage", (p) => p.message.content === "after bob left");
    await rest(server, alice, "POST", `/conversations/${id}/messages`, { content: "after bob left" });
    await carolGets;
    // A round trip on bob's connection: anything pushed before it would have arrived first.
    await assert.rejects(b.invoke("Ready"), /Unknown hub method/);
    assert.deepEqual(toBob, []);
  } finally {
    await Promise.all([b.stop(), c.stop()]);
  }
});
