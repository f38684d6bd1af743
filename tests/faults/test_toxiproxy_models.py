"""Typed toxic models: Toxiproxy's attribute names and units, misspellings rejected."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from faults.toxiproxy.models import (
    LatencyToxic,
    LimitDataToxic,
    ProxyInfo,
    SlicerToxic,
    ToxicError,
    make_toxic,
    toxic_from_api,
)


def test_a_misspelt_attribute_is_rejected_naming_the_valid_ones() -> None:
    with pytest.raises(ValidationError) as error:
        LatencyToxic(latncy=100)  # type: ignore[call-arg]
    assert "unknown attribute 'latncy' for a latency toxic" in str(error.value)
    assert "valid attributes: latency, jitter" in str(error.value)


def test_make_toxic_rejects_an_unknown_type_listing_the_valid_types() -> None:
    with pytest.raises(ToxicError, match="unknown toxic type 'lag'; valid types: latency, "):
        make_toxic("lag", {})


def test_make_toxic_rejects_a_common_field_given_as_an_attribute() -> None:
    with pytest.raises(ToxicError, match="'stream' is a toxic field, not an attribute"):
        make_toxic("latency", {"stream": "upstream"})


def test_make_toxic_reports_a_non_integer_attribute() -> None:
    with pytest.raises(
        ToxicError, match=r"invalid latency toxic: latency: Input should be a valid"
    ):
        make_toxic("latency", {"latency": 1.5})


def test_negative_attributes_and_toxicity_above_one_are_rejected() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        LimitDataToxic(bytes=-1)
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        LatencyToxic(latency=1, toxicity=1.5)


def test_slicer_variation_must_be_below_the_average_size() -> None:
    with pytest.raises(ValidationError, match=r"size_variation \(10\) must be smaller than"):
        SlicerToxic(average_size=10, size_variation=10)


def test_to_api_is_the_create_body_with_the_default_name() -> None:
    toxic = LatencyToxic(latency=300, jitter=20, stream="upstream", toxicity=0.25)
    assert toxic.to_api() == {
        "name": "latency_upstream",
        "type": "latency",
        "stream": "upstream",
        "toxicity": 0.25,
        "attributes": {"latency": 300, "jitter": 20},
    }


def test_toxic_from_api_round_trips() -> None:
    toxic = SlicerToxic(name="cut", average_size=100, size_variation=5, delay=10)
    data = toxic.to_api()
    assert toxic_from_api(data) == toxic


def test_proxy_info_parses_the_api_shape_with_its_toxics() -> None:
    info = ProxyInfo.from_api(
        {
            "name": "mock",
            "listen": "127.0.0.1:26379",
            "upstream": "127.0.0.1:8000",
            "enabled": True,
            "toxics": [LimitDataToxic(bytes=5).to_api()],
        }
    )
    assert info.listen_port == 26379
    assert info.listen_host == "127.0.0.1"
    assert info.toxics == (LimitDataToxic(name="limit_data_downstream", bytes=5),)
