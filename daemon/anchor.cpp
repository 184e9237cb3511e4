// Anchors vmr_daemon; the pipeline lands here.
