// Anchors vmr_systemd so the library exists before the notify glue does.
