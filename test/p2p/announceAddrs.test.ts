import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { multiaddr } from "@multiformats/multiaddr";
import {
  announceable,
  dialableAddrs,
  isHostLocal,
  parseAnnounce,
  unreachableFromOthers,
} from "../../src/p2p/announceAddrs.ts";

const ID = "12D3KooWBRRezC7LrC2Ksr3JKvCcCJ68DKfHjxQ7RPsGPATAU8sU";

describe("announced addresses", () => {
  it("a node listening on every interface announces the addresses other hosts can reach, not its loopback", () => {
    const listening = [
      "/ip4/127.0.0.1/tcp/4001",
      "/ip4/10.0.0.5/tcp/4001",
      "/ip6/::1/tcp/4001",
      "/ip6/fe80::1/tcp/4001",
      "/ip4/169.254.3.4/tcp/4001",
      "/ip4/203.0.113.9/tcp/4001",
    ];
    assert.deepEqual(announceable(listening), ["/ip4/10.0.0.5/tcp/4001", "/ip4/203.0.113.9/tcp/4001"]);
    // libp2p hands the filter Multiaddr objects: they come back as they went in.
    const objects = listening.map((a) => multiaddr(a));
    assert.deepEqual(
      announceable(objects).map((m) => m.toString()),
      ["/ip4/10.0.0.5/tcp/4001", "/ip4/203.0.113.9/tcp/4001"],
    );
  });

  it("a node with only host-local addresses (a devnet on one machine) announces them, and at most 8", () => {
    assert.deepEqual(announceable(["/ip4/127.0.0.1/tcp/7000"]), ["/ip4/127.0.0.1/tcp/7000"]);
    const many = Array.from({ length: 12 }, (_, i) => `/ip4/10.0.0.${i + 1}/tcp/4001`);
    assert.equal(announceable(many).length, 8);
  });

  it("tells host-local from reachable", () => {
    for (const a of [
      "/ip4/127.0.0.1/tcp/1",
      "/ip4/127.9.9.9/tcp/1",
      "/ip4/0.0.0.0/tcp/1",
      "/ip6/::/tcp/1",
      "/ip6/::1/tcp/1",
      "/ip6/FE80::2/tcp/1",
      "/ip4/169.254.0.1/tcp/1",
    ])
      assert.equal(isHostLocal(a), true, a);
    for (const a of [
      "/ip4/10.0.0.1/tcp/1",
      "/ip4/192.168.1.1/tcp/1",
      "/ip6/2001:db8::1/tcp/1",
      "/dns4/node.example/tcp/1",
      "/ip4/128.0.0.1/tcp/1",
    ])
      assert.equal(isHostLocal(a), false, a);
  });
});

describe("dialled addresses", () => {
  const theirs = [`/ip4/127.0.0.1/tcp/4001/p2p/${ID}`, `/ip4/10.0.0.7/tcp/4001/p2p/${ID}`];

  it("a node that other hosts can reach never dials a host-local address from another's record", () => {
    assert.deepEqual(dialableAddrs(theirs, ["/ip4/10.0.0.5/tcp/4001"]), [theirs[1]]);
    // A record naming only this host's loopback (a stranger pointing us at our own services) gives nothing.
    assert.deepEqual(dialableAddrs([`/ip4/127.0.0.1/tcp/7070/p2p/${ID}`], ["/ip4/10.0.0.5/tcp/4001"]), []);
  });

  it("a devnet node, whose own addresses are all loopback, dials loopback addresses", () => {
    assert.deepEqual(dialableAddrs(theirs, ["/ip4/127.0.0.1/tcp/7000"]), theirs);
  });
});

describe("a node other hosts cannot dial", () => {
  const loopback = [`/ip4/127.0.0.1/tcp/7000/p2p/${ID}`];
  it("is one listening on loopback only while its bootstrap peer is on another host", () => {
    assert.equal(unreachableFromOthers(loopback, [`/ip4/203.0.113.10/tcp/4001/p2p/${ID}`]), true);
  });
  it("is not a devnet node (every peer on loopback), nor one with a reachable address", () => {
    assert.equal(unreachableFromOthers(loopback, [`/ip4/127.0.0.1/tcp/7001/p2p/${ID}`]), false);
    assert.equal(
      unreachableFromOthers([`/ip4/10.0.0.5/tcp/4001/p2p/${ID}`], [`/ip4/203.0.113.10/tcp/4001/p2p/${ID}`]),
      false,
    );
  });
});

describe("--announce", () => {
  it("takes multiaddrs without a peer id, in canonical form", () => {
    assert.deepEqual(parseAnnounce(["/ip4/203.0.113.9/tcp/4001", "/dns4/node.example/tcp/4001"]), [
      "/ip4/203.0.113.9/tcp/4001",
      "/dns4/node.example/tcp/4001",
    ]);
  });

  it("refuses what is not a multiaddr, one with a peer id, one too long for a record, and more than 8", () => {
    assert.throws(() => parseAnnounce(["203.0.113.9:4001"]), /not a multiaddr/);
    assert.throws(() => parseAnnounce([`/ip4/203.0.113.9/tcp/4001/p2p/${ID}`]), /leave out \/p2p/);
    assert.throws(() => parseAnnounce([`/dns4/${"a".repeat(200)}.example/tcp/1`]), /bytes/);
    assert.throws(
      () => parseAnnounce(Array.from({ length: 9 }, (_, i) => `/ip4/10.0.0.${i}/tcp/1`)),
      /at most 8/,
    );
  });
});
