import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsageError } from "../../src/cli/command.ts";
import { sharedAddressOf } from "../../src/cli/sharedCommands.ts";
import { toHex } from "../../src/core/bytes.ts";
import { sharedAccount } from "../support/sharedAccounts.ts";

describe("tally shared address", () => {
  const account = sharedAccount([1, 2, 3, 4], "ops");
  const keys = account.owners.map((o) => toHex(o.publicKey));

  it("prints the address, id and sorted owners of the definition, whatever order the owners come in", () => {
    const result = sharedAddressOf([keys[3], keys[1], keys[0], keys[2]].join(","), "ops");
    assert.deepEqual(result, { address: account.address, id: toHex(account.id), owners: keys, label: "ops" });
    assert.notEqual(sharedAddressOf(keys.join(",")).address, account.address, "the label is part of it");
  });

  it("refuses bad input as a usage error naming it", () => {
    const refuse = (owners: string, label: string, fragment: RegExp) =>
      assert.throws(
        () => sharedAddressOf(owners, label),
        (e: unknown) => e instanceof UsageError && fragment.test(e.message),
      );
    refuse(`${keys[0]},${keys[0]}`, "", /listed twice/);
    refuse(`${keys[0]},zz`, "", /entry 2/);
    refuse(keys.join(","), "x".repeat(65), /--label/);
  });
});
