"""The process shell: the `driftwise` CLI, the main loop, daemon and UI launchers, offline env."""
