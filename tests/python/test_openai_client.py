"""The official OpenAI Python client talks to Lyceum's router unchanged,
streaming and not, and sees Lyceum's metadata beside the usual fields."""

import os

import openai
import pytest

from cluster import Cluster


@pytest.fixture(scope="module")
def lyceum():
    cluster = Cluster(os.environ["LYCEUM_BUILD_DIR"]).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def client(lyceum):
    return openai.OpenAI(base_url=lyceum.url + "/v1", api_key="unused-on-loopback")


def test_chat_completion(client):
    reply = client.chat.completions.create(
        model="lyceum",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        metadata={"domain": "geo", "user": "ann"},
    )
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == "Paris"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    lyceum = reply.model_extra["lyceum"]
    assert lyceum["path"] == "novel"
    assert lyceum["chosen"] == "teacher"
    assert set(lyceum["answered_by"]) >= {"supervisor", "teacher", "student"}
    assert lyceum["scores"]["student"] == 0.0
    assert lyceum["cost_usd"] > 0


def test_streaming(client):
    stream = client.chat.completions.create(
        model="lyceum",
        messages=[{"role": "user", "content": "What is 6 times 7?"}],
        metadata={"domain": "math"},
        stream=True,
    )
    pieces, last = [], None
    for chunk in stream:
        assert chunk.object == "chat.completion.chunk"
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        last = chunk
    assert "".join(pieces) == "42"
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["lyceum"]["domain"] == "math"


def test_models_list(client):
    ids = {m.id for m in client.models.list()}
    assert {"lyceum", "supervisor", "teacher", "student", "memory"} <= ids


def test_errors_are_openai_errors(client):
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    assert err.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="lyceum", messages=[])
