import { describe, it } from "mocha";
import assert from "node:assert/strict";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/identity";
import { readTogether, sharingTokenRequests } from "../../core/azure";

describe("test/unit/azure", () => {
  /** A credential whose token requests stay open until the test answers them. */
  function heldCredential() {
    const calls: { scopes: string | string[]; options?: GetTokenOptions; answer: (token: AccessToken) => void }[] = [];
    const credential: TokenCredential = {
      getToken: (scopes, options) =>
        new Promise<AccessToken>((resolve) => calls.push({ scopes, ...(options ? { options } : {}), answer: resolve })),
    };
    return { credential, calls };
  }
  const token = (value: string): AccessToken => ({ token: value, expiresOnTimestamp: 0 });

  describe("sharingTokenRequests", () => {
    it("concurrent requests for the same scope share one token request", async () => {
      const { credential, calls } = heldCredential();
      const shared = sharingTokenRequests(credential);
      const pending = [shared.getToken("arm/.default"), shared.getToken(["arm/.default"]), shared.getToken("arm/.default")];
      assert.equal(calls.length, 1);
      calls[0]!.answer(token("t1"));
      assert.deepEqual(
        (await Promise.all(pending)).map((t) => t?.token),
        ["t1", "t1", "t1"],
      );
    });

    it("another scope, tenant or CAE setting is another request; a claims challenge is never shared", async () => {
      const { credential, calls } = heldCredential();
      const shared = sharingTokenRequests(credential);
      void shared.getToken("arm/.default");
      void shared.getToken("vault/.default");
      void shared.getToken("arm/.default", { tenantId: "other" });
      void shared.getToken("arm/.default", { enableCae: true });
      void shared.getToken("arm/.default", { claims: "{}" });
      void shared.getToken("arm/.default", { claims: "{}" });
      assert.equal(calls.length, 6);
    });

    it("once answered, the next request asks the credential again (its own cache answers it)", async () => {
      const { credential, calls } = heldCredential();
      const shared = sharingTokenRequests(credential);
      const first = shared.getToken("arm/.default");
      calls[0]!.answer(token("t1"));
      await first;
      void shared.getToken("arm/.default");
      assert.equal(calls.length, 2);
    });
  });

  describe("readTogether", () => {
    it("sends every read at once and returns the answers in order", async () => {
      const started: string[] = [];
      let release = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      const read = async (name: string) => {
        started.push(name);
        await gate;
        return name.toUpperCase();
      };
      const all = readTogether([read("a"), read("b"), 3]);
      assert.deepEqual(started, ["a", "b"], "both reads are under way before either is answered");
      release();
      assert.deepEqual(await all, ["A", "B", 3]);
    });

    it("when several fail, the one listed first is reported, whichever failed first", async () => {
      let failLater = () => {};
      const later = new Promise<never>((_, reject) => (failLater = () => reject(new Error("first in the list"))));
      const result = readTogether([later, Promise.reject(new Error("second in the list"))]);
      failLater();
      await assert.rejects(result, /first in the list/);
    });
  });
});
