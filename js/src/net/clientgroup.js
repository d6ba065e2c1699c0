/**
 * Several chunk clients seen as one by the edit queue (net/editqueue.js): the ortho view's three
 * slice views each have their own client (one plane each), and a stroke painted in one of them
 * must show in the others' cached tiles at once. The group answers the queue's questions over all
 * members (the newest version known, every cached tile of a chunk) and passes its notices (new
 * versions, dirty chunks, refresh) to each. The 2D view uses its single client directly.
 * @module net/clientgroup
 */

/** A cache facade over the members' caches (only what the edit queue uses). */
class GroupCache {
  constructor(group) {
    this.group = group;
  }

  ofChunk(layer, level, ks) {
    const out = [];
    for (const c of this.group.members) out.push(...c.cache.ofChunk(layer, level, ks));
    return out;
  }
}

/** See the module doc. */
export class ClientGroup {
  /** @param {import("./client.js").ChunkClient[]} members (the first one's paint level counts) */
  constructor(members) {
    this.members = members;
    this.level = members[0].level;
    this.cache = new GroupCache(this);
    this._overlay = members[0].overlay;
  }

  /** The edit queue's hooks, installed on every member. */
  get overlay() {
    return this._overlay;
  }

  set overlay(hooks) {
    this._overlay = hooks;
    for (const c of this.members) c.overlay = hooks;
  }

  /** Add a member (it gets the queue's hooks). */
  add(client) {
    client.overlay = this._overlay;
    this.members.push(client);
  }

  chunkVersion(layer, ks, level = this.level) {
    let v = -1;
    for (const c of this.members) v = Math.max(v, c.chunkVersion(layer, ks, level));
    return v;
  }

  noteVersion(layer, ks, version, own, level = this.level) {
    let stale = false;
    for (const c of this.members) stale = c.noteVersion(layer, ks, version, own, level) || stale;
    return stale;
  }

  markDirty(layer, ks) {
    for (const c of this.members) c.markDirty(layer, ks);
  }

  refresh() {
    for (const c of this.members) c.refresh();
  }
}
