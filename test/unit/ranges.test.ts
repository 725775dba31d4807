import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { aggregateRanges, foldRanges, isRangeError, parseIpv4Range, type Ipv4Range } from "../../core/ipv4-ranges";
import { broadRanges, coverEverything } from "../../tasks/RestrictApiServer/ranges";
import { readListEntries } from "../../core/inputs";
import { parseRanges } from "../../tasks/RestrictApiServer/inputs";

describe("test/unit/ranges", () => {
  function range(text: string): Ipv4Range {
    const parsed = parseIpv4Range(text);
    if (isRangeError(parsed)) throw new Error(parsed.error);
    return parsed;
  }

  it("an address means /32 and a CIDR keeps its prefix", () => {
    assert.equal(range("203.0.113.7").cidr, "203.0.113.7/32");
    assert.equal(range("203.0.113.0/24").cidr, "203.0.113.0/24");
    assert.equal(range("0.0.0.0/32").cidr, "0.0.0.0/32");
  });

  it("host bits set are refused with the network the user probably meant", () => {
    const parsed = parseIpv4Range("192.0.2.1/24");
    assert.ok(isRangeError(parsed));
    assert.match(parsed.error, /'192\.0\.2\.1\/24' has host bits set — did you mean 192\.0\.2\.0\/24\?/);
  });

  it("IPv6 entries are refused as IPv6, not as garbage", () => {
    for (const entry of ["2001:db8::/32", "::1", "fe80::1/128"]) {
      const parsed = parseIpv4Range(entry);
      assert.ok(isRangeError(parsed), entry);
      assert.match(parsed.error, /IPv6/);
    }
  });

  it("malformed entries are refused", () => {
    for (const entry of [
      "1.2.3",
      "256.1.1.1",
      "1.2.3.4/33",
      "1.2.3.4/",
      "01.2.3.4",
      "1.2.3.4/24/1",
      "a.b.c.d",
      "1.2.3.4/-1",
      "1.2.3.4/08",
    ]) {
      assert.ok(isRangeError(parseIpv4Range(entry)), entry);
    }
  });

  it("lists split on commas, spaces and new lines", () => {
    assert.deepEqual(
      readListEntries(" 1.1.1.1, 2.2.2.0/24\n3.3.3.3\t4.4.4.4 ,,\r\n").map((e) => e.text),
      ["1.1.1.1", "2.2.2.0/24", "3.3.3.3", "4.4.4.4"],
    );
  });

  it("a commented block of ranges is accepted: '#' lines and trailing comments are no entries", () => {
    const ranges = parseRanges("# office\n203.0.113.0/24   # office LAN\n198.51.100.7 # vpn gateway\n\n  # end");
    assert.deepEqual(
      ranges.map((r) => r.cidr),
      ["203.0.113.0/24", "198.51.100.7/32"],
    );
  });

  it("an unusable entry of a multi-line list is named with its line and the reason", () => {
    assert.throws(
      () => parseRanges("203.0.113.0/24 # office\noffice-vpn\n"),
      /authorizedIpRanges: line 2: 'office-vpn' is not an IPv4 address or CIDR/,
    );
  });

  it("parseRanges names the input and reports every bad entry at once", () => {
    assert.throws(
      () => parseRanges("1.1.1.1, 10.0.0.1/8, ::1"),
      (error: Error) => {
        assert.match(error.message, /^authorizedIpRanges: 2 entries are not usable/);
        assert.match(error.message, /did you mean 10\.0\.0\.0\/8/);
        assert.match(error.message, /IPv6/);
        return true;
      },
    );
  });

  it("0.0.0.0/0 is refused: it is no restriction", () => {
    assert.throws(() => parseRanges("0.0.0.0/0"), /authorizedIpRanges: '0\.0\.0\.0\/0' authorizes every address.*action 'disable'/);
  });

  it("ranges that add up to every IPv4 address are refused like 0.0.0.0/0, naming them", () => {
    assert.throws(
      () => parseRanges("0.0.0.0/1, 128.0.0.0/1"),
      /authorizedIpRanges: 0\.0\.0\.0\/1, 128\.0\.0\.0\/1 together authorize every IPv4 address.*action 'disable'/,
    );
    const allSlash8s = Array.from({ length: 256 }, (_, i) => `${i}.0.0.0/8`).join("\n");
    assert.throws(() => parseRanges(allSlash8s), /0\.0\.0\.0\/8, 1\.0\.0\.0\/8, .* and 246 more together authorize every IPv4 address/);
    assert.equal(parseRanges(Array.from({ length: 255 }, (_, i) => `${i}.0.0.0/8`).join("\n")).length, 255, "one /8 short is a list");
    assert.equal(coverEverything(["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2"].map(range)), true);
    assert.equal(coverEverything(["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3"].map(range)), false);
  });

  it("ranges broader than /8 are found for the warning; /8 itself is not", () => {
    assert.deepEqual(
      broadRanges(parseRanges("0.0.0.0/1, 10.0.0.0/8, 64.0.0.0/7, 203.0.113.0/24")).map((r) => r.cidr),
      ["0.0.0.0/1", "64.0.0.0/7"],
    );
  });

  it("duplicates and covered ranges fold into the covering range, keeping first-appearance order", () => {
    const { kept, folded } = foldRanges(["10.1.2.0/24", "198.51.100.7", "10.0.0.0/8", "198.51.100.7/32", "10.0.0.0/8"].map(range));
    assert.deepEqual(
      kept.map((r) => r.cidr),
      ["198.51.100.7/32", "10.0.0.0/8"],
    );
    assert.deepEqual(
      folded.map((f) => [f.range.cidr, f.into.cidr]),
      [
        ["10.1.2.0/24", "10.0.0.0/8"],
        ["198.51.100.7/32", "198.51.100.7/32"],
        ["10.0.0.0/8", "10.0.0.0/8"],
      ],
    );
  });

  it("aggregation joins adjacent and overlapping ranges and never widens the address set", () => {
    const merged = aggregateRanges(["10.0.0.0/24", "10.0.1.0/24", "10.0.3.0/24", "192.0.2.4/32", "192.0.2.5/32"].map(range));
    assert.deepEqual(merged.map((r) => r.cidr).sort(), ["10.0.0.0/23", "10.0.3.0/24", "192.0.2.4/31"]);
  });

  it("folding a list of thousands drops exactly the ranges a wider one covers", () => {
    const many = Array.from({ length: 5000 }, (_, i) => range(`10.${(i >> 8) & 255}.${i & 255}.0/24`));
    const { kept, folded } = foldRanges([...many, range("10.0.0.0/16")]);
    assert.equal(kept.length, 5000 - 256 + 1);
    assert.ok(folded.every((f) => f.into.cidr === "10.0.0.0/16" && f.range.cidr.startsWith("10.0.")));
  });
});
