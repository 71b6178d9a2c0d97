"""bento/state.py: the persisted serving state round-trips through its file, and the
deployment version BentoML's own series are labelled with (pure; no server)."""

from bento.schemas import RoutingUpdate
from bento.state import ServingState, deployment_version, read_state, tag_version, write_state


def test_tag_version_reads_the_version_of_a_store_tag():
    assert tag_version("driftwise-sentiment:v12") == "12"
    assert tag_version(None) is None and tag_version("no-version") is None


def test_deployment_version_names_the_champion_and_a_challenger_taking_traffic():
    champion_only = ServingState(champion="m:v1")
    assert deployment_version(champion_only) == "1"
    loaded_idle = ServingState(champion="m:v1", challenger="m:v2")
    assert deployment_version(loaded_idle) == "1"  # loaded but routed nothing: not serving
    for mode in ("canary", "shadow"):
        routed = loaded_idle.model_copy(
            update={"routing": RoutingUpdate(mode=mode, challenger_weight=0.1)}
        )
        assert deployment_version(routed) == f"1+2:{mode}"
    assert deployment_version(ServingState()) == "none"


def test_state_round_trips_through_its_file(tmp_path):
    state = ServingState(
        champion="m:v3",
        challenger="m:v4",
        previous="m:v2",
        routing=RoutingUpdate(mode="canary", challenger_weight=0.25),
    )
    write_state(tmp_path, state)
    assert read_state(tmp_path) == state
