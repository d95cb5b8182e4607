/** A uniform float in [0, 1): seeded in tests and the simulator, crypto-backed in the node. */
export type RandomSource = () => number;
