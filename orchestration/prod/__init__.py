"""The prod profile's local stand-ins (`driftwise prod up|down|env`) and its executor config."""
