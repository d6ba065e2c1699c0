"""View-independent edit operations: functions that compute the voxels an edit changes.

Each takes what it needs (the map's shape, its chunk grid and a read of current values, see
:class:`voxwidget.labelmap.types.ChunkReader`) and returns edit atoms
(:class:`voxwidget.labelmap.history.Atom`); :class:`voxwidget.labelmap.labelmap.LabelMap` commits
them on its one edit path. Brush strokes live in :mod:`.brush`; fill, polygon and slice
interpolation belong here too.
"""
