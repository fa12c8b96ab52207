import { describe, expect, it } from "vitest";
import { objectName } from "../src/api/labels";
import { empty, encode } from "../src/canvas/rle";
import { MaskStore } from "../src/ui/workspace/masks";
import { emptyFrames, frameRanges, propagationSummary } from "../src/ui/workspace/propagation";

describe("after a propagation", () => {
  it("says done only when no object vanished", () => {
    expect(propagationSummary({ revisions: { "1": 4 }, frames: 6, empty_frames: { "1": [] } }, 6)).toBe("Propagation done.");
    expect(propagationSummary({ revisions: { "1": 4 }, frames: 6 }, 6)).toBe("Propagation done."); // an older job's result
  });

  it("names the objects that vanished and where, as frames are numbered on screen", () => {
    const everywhere = propagationSummary({ empty_frames: { "1": [0, 1, 2, 3, 4, 5] } }, 6);
    expect(everywhere).toContain("Object 1 is empty on every propagated frame");
    expect(everywhere).not.toBe("Propagation done.");
    const some = propagationSummary({ empty_frames: { "1": [], "2": [3, 4, 5, 9] } }, 10);
    expect(some).toContain("Object 2 vanished on frames 4–6, 10");
    expect(some).not.toContain("Object 1");
    expect(frameRanges([7])).toBe("8");
  });

  it("names an object as the objects panel does: its number in the video and its label", () => {
    const names = new Map([[2, objectName(2, { name: "person" })]]);
    const some = propagationSummary({ empty_frames: { "2": [3] } }, 10, (n) => names.get(n) ?? objectName(n));
    expect(some).toContain("Object 2 · person vanished on frame 4");
    expect(objectName(0)).toBe("Object 0");
  });

  it("marks the vanished frames on the timeline until a mask comes back there", () => {
    const store = new MaskStore(8);
    store.addObject(1);
    store.addObject(2);
    store.set(1, 3, encode(new Uint8Array(4).fill(1), 2, 2));
    store.setVanished(emptyFrames({ empty_frames: { "1": [3, 5], "2": [], "7": [1] } }));
    expect([...store.vanished.get(1)!]).toEqual([3, 5]);
    expect(store.presence.get(1)![3]).toBe(0);
    expect(store.vanished.get(2)!.size).toBe(0);
    expect(store.vanished.has(7)).toBe(false); // an object removed since
    store.set(1, 5, empty(2, 2)); // still empty: still marked
    store.set(1, 3, encode(new Uint8Array(4).fill(1), 2, 2)); // corrected: no longer vanished
    expect([...store.vanished.get(1)!]).toEqual([5]);
  });
});
