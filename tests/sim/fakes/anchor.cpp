// Anchors vmr_fakes so the library exists before any fake device does.
