"""Fixtures the voice tests share: a client logged in as a role of the `world`, the API called as a
role, seven open requests of compound A that ask two common questions, and a local group robot."""

import json

import pytest
from django.urls import reverse

from tongxin.voice.tests.request_helpers import make_request, seven_questions
from tongxin.voice.tests.robot_server import RobotServer


@pytest.fixture
def as_role(client, world):
    """as_role(Role.X) -> the test client, logged in as the world's user of that role."""

    def login(role):
        client.force_login(world.users[role])
        return client

    return login


@pytest.fixture
def api(client, world):
    """api(role, "get"/"post", url name under "api:", body, args, query) -> the response, as that
    role; a post sends `body` as JSON."""

    def call(role, method, name, body=None, args=(), query=""):
        client.force_login(world.users[role])
        url = reverse(f"api:{name}", args=args) + query
        if method == "get":
            return client.get(url)
        return client.post(url, json.dumps(body or {}), content_type="application/json")

    return call


@pytest.fixture
def asked(world):
    """Seven open requests of compound A: three ask when it unseals, three whether parcels get in."""
    return [make_request(world, text=text, household=home) for text, home in seven_questions(world)]


@pytest.fixture
def robot(settings):
    """A group robot's webhook served locally (the local-address check off for the test)."""
    settings.TONGXIN_WEBHOOK_ALLOW_LOCAL = True
    settings.TONGXIN_WEBHOOK_TIMEOUT_SECONDS = 1
    with RobotServer() as server:
        yield server
