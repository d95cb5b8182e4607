/**
 * Who keeps a peer connected (src/node/peerKeeper.ts) and the co-owners' links on top of it
 * (src/node/shared/coOwnerLinks.ts): a peer stays a transport member while any reason holds — the view
 * dropping a co-owner's host does not cut the committee's link, nor the reverse — and links follow the
 * co-owners' current hosts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PeerKeeper } from "../../../src/node/peerKeeper.ts";
import { CoOwnerLinks } from "../../../src/node/shared/coOwnerLinks.ts";

/** The transport's member list, as the keeper drives it. */
function members() {
  const now = new Map<string, string>();
  const calls: string[] = [];
  return {
    now,
    calls,
    addPeer(addr: string) {
      const peer = addr.slice(addr.lastIndexOf("/p2p/") + 5);
      now.set(peer, addr);
      calls.push(`add ${peer}`);
      return peer;
    },
    removePeer(peer: string) {
      now.delete(peer);
      calls.push(`remove ${peer}`);
    },
  };
}

describe("PeerKeeper", () => {
  it("adds a member on its first reason and removes it with its last", () => {
    const transport = members();
    const keeper = new PeerKeeper(transport);
    keeper.keep("P", "/ip4/127.0.0.1/tcp/1", "view");
    keeper.keep("P", "/ip4/127.0.0.1/tcp/1", "co-owner:a:1");
    assert.equal(transport.now.get("P"), "/ip4/127.0.0.1/tcp/1/p2p/P", "dialled once, at /p2p/<peer>");
    keeper.release("P", "view");
    assert.ok(transport.now.has("P"), "the co-owner reason still holds");
    assert.deepEqual(keeper.keptFor("view"), []);
    keeper.release("P", "view");
    keeper.release("Q", "view");
    keeper.release("P", "co-owner:a:1");
    assert.equal(transport.now.has("P"), false);
    assert.deepEqual(transport.calls, ["add P", "remove P"]);
  });

  it("keeps an address that names its peer as given", () => {
    const transport = members();
    new PeerKeeper(transport).keep("P", "/ip4/127.0.0.1/tcp/1/p2p/P", "bootstrap");
    assert.equal(transport.now.get("P"), "/ip4/127.0.0.1/tcp/1/p2p/P");
  });
});

describe("CoOwnerLinks", () => {
  const addresses: Record<string, string[]> = { H1: ["/ip4/10.0.0.1/tcp/1"], H2: ["/ip4/10.0.0.2/tcp/1"] };
  const setup = () => {
    const transport = members();
    const keeper = new PeerKeeper(transport);
    const links = new CoOwnerLinks({ self: "me", keeper, addressesOf: (peer) => addresses[peer] ?? [] });
    return { transport, keeper, links };
  };

  it("keeps each co-owner's host, follows a host change, and lets go when the record is gone", () => {
    const { transport, links } = setup();
    links.sync([
      { account: "a", owner: 1, peer: "H1" },
      { account: "b", owner: 2, peer: "H1" },
      { account: "a", owner: 0, peer: "me" },
    ]);
    assert.deepEqual([...transport.now.keys()], ["H1"], "one link for two accounts; never ourselves");
    assert.equal(links.links, 1);
    links.sync([
      { account: "a", owner: 1, peer: "H2" },
      { account: "b", owner: 2, peer: "H1" },
    ]);
    assert.deepEqual([...transport.now.keys()].sort(), ["H1", "H2"]);
    links.sync([{ account: "a", owner: 1, peer: "H2" }]);
    assert.deepEqual([...transport.now.keys()], ["H2"], "H1's last record expired");
    links.sync([]);
    assert.equal(transport.now.size, 0);
    assert.equal(links.links, 2);
  });

  it("does not count a peer the view already keeps, and keeps it when the view lets go", () => {
    const { transport, keeper, links } = setup();
    keeper.keep("H1", "/ip4/10.0.0.1/tcp/1", "view");
    links.sync([{ account: "a", owner: 1, peer: "H1" }]);
    assert.equal(links.links, 0, "no new connection: the view had it");
    keeper.release("H1", "view");
    assert.ok(transport.now.has("H1"), "the committee's link outlives the view's");
  });

  it("waits for an address: a host with no known record is linked once one arrives", () => {
    const { transport, links } = setup();
    links.sync([{ account: "a", owner: 1, peer: "H3" }]);
    assert.equal(transport.now.size, 0);
    addresses.H3 = ["/ip4/10.0.0.3/tcp/1"];
    links.sync([{ account: "a", owner: 1, peer: "H3" }]);
    assert.ok(transport.now.has("H3"));
  });
});
