"""Videos: ``io`` (reading and writing streams with PyAV, audio carried over), ``tracking`` (faces followed and their
landmarks smoothed from frame to frame) and ``loop`` (``restore_video``: decode, detect, restore, encode at once, in
constant memory, with a playable partial file when stopped)."""
