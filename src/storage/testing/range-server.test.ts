import { afterEach, describe, expect, it } from "vitest";
import { type RangeServer, startRangeServer } from "./range-server.ts";

describe("range server CORS mode", () => {
  let server: RangeServer;
  afterEach(() => server.close());

  it("sends no CORS headers unless asked", async () => {
    server = await startRangeServer();
    server.files.set("/a.bin", { bytes: new Uint8Array([1, 2, 3]) });
    const res = await fetch(`${server.url}/a.bin`);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("lets a page on another origin read ranges and their headers", async () => {
    server = await startRangeServer();
    server.cors = true;
    server.files.set("/a.bin", {
      bytes: new Uint8Array([1, 2, 3, 4, 5]),
      etag: '"v1"',
      headers: { "X-Checksum-Sha256": "abc" },
    });
    const res = await fetch(`${server.url}/a.bin`, { headers: { Range: "bytes=1-2" } });
    expect(res.status).toBe(206);
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([2, 3]);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const exposed = res.headers.get("access-control-expose-headers") ?? "";
    for (const name of ["Content-Range", "Content-Length", "ETag", "X-Checksum-Sha256"])
      expect(exposed).toContain(name);

    const preflight = await fetch(`${server.url}/a.bin`, { method: "OPTIONS" });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")).toContain("Range");

    const missing = await fetch(`${server.url}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("access-control-allow-origin")).toBe("*");
  });
});
