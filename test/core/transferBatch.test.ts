import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { isTallyError } from "../../src/core/errors.ts";
import { BATCH_LENGTH_BYTES, encodeTransferBatch, splitTransferBatch } from "../../src/core/transferBatch.ts";

const item = fc.uint8Array({ minLength: 1, maxLength: 300 });

test("binary batch: split gives back exactly the items framed, as views of the body", () => {
  fc.assert(
    fc.property(fc.array(item, { minLength: 1, maxLength: 40 }), (items) => {
      const body = encodeTransferBatch(items);
      const split = splitTransferBatch(body, 40);
      assert.deepEqual(
        split.map((b) => [...b]),
        items.map((b) => [...b]),
      );
      for (const b of split) assert.equal(b.buffer, body.buffer, "a view, not a copy");
    }),
  );
});

const malformed = (body: Uint8Array, max = 1_000) =>
  assert.throws(
    () => splitTransferBatch(body, max),
    (e: unknown) => isTallyError(e) && e.code === "MALFORMED_ENCODING",
  );

test("binary batch: a body that is not whole, well-framed, non-empty items is refused", () => {
  malformed(new Uint8Array(0)); // no transfers
  malformed(new Uint8Array([0, 0, 0])); // a truncated length
  malformed(new Uint8Array([0, 0, 0, 0])); // an empty item
  malformed(new Uint8Array([0, 0, 0, 5, 1, 2, 3, 4])); // claims more than is left
  malformed(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1])); // a length near 4 GiB
  malformed(encodeTransferBatch([new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3])]), 2); // too many
});

test("binary batch: any truncation or trailing byte of a valid body is refused, never misread", () => {
  fc.assert(
    fc.property(fc.array(item, { minLength: 1, maxLength: 10 }), fc.nat(), (items, cut) => {
      const body = encodeTransferBatch(items);
      // Cutting inside the last item or its length always leaves a claim longer than the rest.
      const lastStart = body.length - items.at(-1)!.length - BATCH_LENGTH_BYTES;
      const at = lastStart + 1 + (cut % (body.length - lastStart - 1));
      malformed(body.subarray(0, at));
      const longer = new Uint8Array(body.length + 1);
      longer.set(body);
      malformed(longer);
    }),
  );
});
