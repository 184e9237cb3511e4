// Anchors vmr_lab so the library exists before the clock lab does.
