/** A node's libp2p peer id, exactly as libp2p spells it ("12D3KooW…"); the name every protocol uses for a peer. */
export type PeerId = string;
