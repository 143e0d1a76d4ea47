/**
 * A map holding at most `capacity` entries (0 holds none) that evicts like a
 * least-recently-used cache, by the CLOCK (second-chance) approximation of LRU.
 *
 * A hit only sets the entry's reference bit: reads never delete and re-insert,
 * which matters when keys are long strings read far more often than written.
 * Inserting into a full map sweeps a hand over the slots, clearing set bits, and
 * evicts the first entry whose bit is clear: one not read since the hand last
 * passed it. An entry read since then always outlives one that was not.
 */
export class Lru<K, V> {
  readonly capacity: number;
  /** Key → slot. */
  readonly #slots = new Map<K, number>();
  #keys: (K | undefined)[] = [];
  #values: (V | undefined)[] = [];
  /** 1: read or rewritten since the hand last passed the slot. */
  readonly #referenced: Uint8Array;
  /** Slots emptied by delete, reused before any eviction. */
  #free: number[] = [];
  #hand = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#referenced = new Uint8Array(Math.max(0, capacity));
  }

  get size(): number {
    return this.#slots.size;
  }

  /** The value for `key`, which is marked as recently used; undefined if absent. */
  get(key: K): V | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    this.#referenced[slot] = 1;
    return this.#values[slot];
  }

  set(key: K, value: V): void {
    if (this.capacity <= 0) return;
    let slot = this.#slots.get(key);
    if (slot !== undefined) {
      this.#values[slot] = value;
      this.#referenced[slot] = 1;
      return;
    }
    slot = this.#free.pop() ?? (this.#keys.length < this.capacity ? this.#keys.length : this.#evict());
    this.#keys[slot] = key;
    this.#values[slot] = value;
    this.#referenced[slot] = 0;
    this.#slots.set(key, slot);
  }

  delete(key: K): boolean {
    const slot = this.#slots.get(key);
    if (slot === undefined) return false;
    this.#slots.delete(key);
    this.#keys[slot] = undefined;
    this.#values[slot] = undefined;
    this.#referenced[slot] = 0;
    this.#free.push(slot);
    return true;
  }

  clear(): void {
    this.#slots.clear();
    this.#keys = [];
    this.#values = [];
    this.#referenced.fill(0);
    this.#free = [];
    this.#hand = 0;
  }

  /** Frees the slot of the first entry under the hand not read since the hand last passed it. */
  #evict(): number {
    // Every slot is in use here (no free slot, the map is full), so the sweep ends
    // within one turn after clearing the bits it passes.
    for (;;) {
      const slot = this.#hand;
      this.#hand = slot + 1 === this.capacity ? 0 : slot + 1;
      if (this.#referenced[slot] === 1) {
        this.#referenced[slot] = 0;
        continue;
      }
      this.#slots.delete(this.#keys[slot] as K);
      return slot;
    }
  }
}
