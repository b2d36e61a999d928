import type { StoreSpace } from "./disk-space.js";

/** Page counts of one tree, as lmdb-js's getStats reports them. */
export interface TreeStats {
  pageSize: number;
  treeBranchPageCount: number;
  treeLeafPageCount: number;
  overflowPages: number;
}

/** lmdb-js's getStats: the main tree, the environment's last page, and the free-list tree. */
export interface LmdbStats extends TreeStats {
  lastPageNumber: number;
  free: TreeStats;
}

/**
 * Where the store stands inside its data file: the bytes up to its last page in use, and the
 * bytes of pages LMDB has freed and will reuse before it grows the file (the file never
 * shrinks): those pages up to the last one, less the ones the trees (data and free list) and
 * the meta pages hold.
 */
export function storeSpaceOf(s: LmdbStats): StoreSpace {
  const f = s.free;
  const held =
    s.treeBranchPageCount +
    s.treeLeafPageCount +
    s.overflowPages +
    f.treeBranchPageCount +
    f.treeLeafPageCount +
    f.overflowPages +
    2;
  const pages = s.lastPageNumber + 1;
  return { usedBytes: pages * s.pageSize, reusableBytes: Math.max(0, pages - held) * s.pageSize };
}
