import assert from "node:assert/strict";
import { it } from "node:test";
import { hostAllowed, parseHostPattern } from "./host-pattern.js";

it("host patterns - parse host, host:port, *.domain and [v6]:port; refuse the rest", () => {
  assert.deepEqual(parseHostPattern("Hooks.Example.com"), { host: "hooks.example.com", wildcard: false, port: "" });
  assert.deepEqual(parseHostPattern("*.example.com:8443"), { host: ".example.com", wildcard: true, port: "8443" });
  assert.deepEqual(parseHostPattern("[::1]:9000"), { host: "[::1]", wildcard: false, port: "9000" });
  for (const bad of ["", "http://x", "x/y", "a:99999", "*", "*.[::1]", ".x", "x..y", "a b"]) {
    assert.equal(parseHostPattern(bad), undefined, bad);
  }
});

it("host patterns - an empty list allows all; ports default by scheme; wildcards match subdomains only", () => {
  const url = (s: string) => new URL(s);
  assert.equal(hostAllowed(url("http://10.0.0.1/x"), []), true);
  const list = ["hooks.example.com", "*.svc.local", "127.0.0.1:8080", "secure.example:443", "[::1]"];
  assert.equal(hostAllowed(url("https://HOOKS.example.com:9999/x"), list), true);
  assert.equal(hostAllowed(url("http://a.svc.local/x"), list), true);
  assert.equal(hostAllowed(url("http://svc.local/x"), list), false);
  assert.equal(hostAllowed(url("http://evilsvc.local/x"), list), false);
  assert.equal(hostAllowed(url("http://127.0.0.1:8080/"), list), true);
  assert.equal(hostAllowed(url("http://127.0.0.1:8081/"), list), false);
  assert.equal(hostAllowed(url("https://secure.example/"), list), true);
  assert.equal(hostAllowed(url("http://secure.example/"), list), false, "http defaults to port 80");
  assert.equal(hostAllowed(url("http://[::1]:7/"), list), true);
  assert.equal(hostAllowed(url("http://localhost/"), list), false);
});
