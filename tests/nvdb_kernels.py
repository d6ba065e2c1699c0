"""Warp kernels the NanoVDB export tests read exported grids with (warp compiles kernels from source
files, so they live here rather than in exec'd strings)."""

import warp as wp


@wp.kernel
def lookup_index(vol: wp.uint64, ijk: wp.array(dtype=wp.vec3i), out: wp.array(dtype=wp.int32)):
    """Warp's index of each voxel in an OnIndex grid (-1 for inactive voxels)."""
    t = wp.tid()
    p = ijk[t]
    out[t] = wp.volume_lookup_index(vol, p[0], p[1], p[2])


@wp.kernel
def lookup_int64(vol: wp.uint64, ijk: wp.array(dtype=wp.vec3i), out: wp.array(dtype=wp.int64)):
    t = wp.tid()
    p = ijk[t]
    out[t] = wp.volume_lookup(vol, p[0], p[1], p[2], dtype=wp.int64)


@wp.kernel
def lookup_uint32(vol: wp.uint64, ijk: wp.array(dtype=wp.vec3i), out: wp.array(dtype=wp.uint32)):
    t = wp.tid()
    p = ijk[t]
    out[t] = wp.volume_lookup(vol, p[0], p[1], p[2], dtype=wp.uint32)


@wp.kernel
def lookup_int32(vol: wp.uint64, ijk: wp.array(dtype=wp.vec3i), out: wp.array(dtype=wp.int32)):
    t = wp.tid()
    p = ijk[t]
    out[t] = wp.volume_lookup(vol, p[0], p[1], p[2], dtype=wp.int32)


LOOKUPS = {
    "int64": (lookup_int64, wp.int64),
    "uint32": (lookup_uint32, wp.uint32),
    "int32": (lookup_int32, wp.int32),
}
