"""Who may call the API and how often (docs/api.md): a personal token (Bearer), a password
(Basic) or the browser session with its CSRF token; revoked or wrong credentials answer
401, too many calls 429 with Retry-After, bad input 400 naming the field; every list is
the caller's own."""
from __future__ import annotations

import base64

import pytest
from django.core.cache import cache
from django.test import Client

from tests.conftest import make_user
from webapp.core.models import ApiToken
from webapp.core.tokens import token_create, token_revoke
from webapp.photos.services import album_create

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # make_user's default


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def basic(username: str, password: str) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


@pytest.fixture
def alice_token(user) -> str:
    album_create(owner=user, name="Alice's")
    return token_create(user=user, name="laptop")[1]


def test_a_token_signs_in_as_its_user_and_is_marked_used(user, alice_token):
    client = Client()
    answer = client.get("/api/v1/albums", **bearer(alice_token))
    assert answer.status_code == 200 and [a["name"] for a in answer.json()["results"]] == ["Alice's"]
    assert ApiToken.objects.get(user=user).last_used_at is not None
    made = client.post("/api/v1/albums", {"name": "By script"}, content_type="application/json", **bearer(alice_token))
    assert made.status_code == 201  # no CSRF token: a browser never sends a token by itself


@pytest.mark.parametrize("header", [
    {},
    bearer("vsg_not-a-real-token"),
    bearer("something else"),
    basic("alice", "wrong password"),
    {"HTTP_AUTHORIZATION": "Token abc"},
])
def test_no_or_wrong_credentials_answer_401_with_the_error_body(user, alice_token, header):
    answer = Client().get("/api/v1/albums", **header)
    assert answer.status_code == 401
    assert answer.json() == {"error": "Authentication required: a token (Bearer), a password (Basic) or a session."}
    assert answer["WWW-Authenticate"] == 'Basic realm="Visage"'


def test_a_revoked_token_answers_401(user, alice_token):
    client = Client()
    assert client.get("/api/v1/albums", **bearer(alice_token)).status_code == 200
    assert token_revoke(user=user, token_id=ApiToken.objects.get(user=user).pk)
    assert client.get("/api/v1/albums", **bearer(alice_token)).status_code == 401


def test_a_token_of_an_inactive_user_answers_401(user, alice_token):
    user.is_active = False
    user.save()
    assert Client().get("/api/v1/albums", **bearer(alice_token)).status_code == 401


def test_another_users_token_sees_only_their_own_things(user, alice_token):
    alices = album_create(owner=user, name="Private")
    bob = make_user("bob")
    album_create(owner=bob, name="Bob's")
    bobs_token = token_create(user=bob, name="phone")[1]
    client = Client()
    for path in ("/api/v1/albums", "/api/v1/libraries", "/api/v1/photos"):
        mine = client.get(path, **bearer(bobs_token)).json()
        assert all("Alice" not in str(item) and "Private" not in str(item) for item in mine["results"]), path
    assert [a["name"] for a in client.get("/api/v1/albums", **bearer(bobs_token)).json()["results"]] == ["Bob's"]
    answer = client.get(f"/api/v1/albums/{alices.pk}", **bearer(bobs_token))
    assert answer.status_code == 404 and answer.json() == {"error": f"No album with id {alices.pk}."}
    assert client.get("/api/v1/photos", {"album": alices.pk}, **bearer(bobs_token)).status_code == 404


def test_basic_auth_with_the_password(user, alice_token):
    answer = Client().get("/api/v1/albums", **basic("alice", PASSWORD))
    assert answer.status_code == 200 and answer.json()["count"] == 1


def test_password_guesses_by_basic_auth_meet_the_sign_in_lock(user, settings):
    settings.VISAGE_LOGIN_FAILURE_LIMIT = 3
    client = Client()
    assert [client.get("/api/v1/albums", **basic("alice", f"guess {n}")).status_code for n in range(3)] == [401] * 3
    locked = client.get("/api/v1/albums", **basic("alice", PASSWORD))  # even the right one, for now
    assert locked.status_code == 429 and locked.json() == {"error": "Too many failed sign-in attempts: wait a while before trying again."}
    assert 0 < int(locked["Retry-After"]) <= settings.VISAGE_LOGIN_FAILURE_WINDOW_S
    assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 429  # one lock


def test_the_session_needs_the_csrf_token_on_writes(user, alice_token):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/v1/albums").status_code == 200  # reads need none
    refused = client.post("/api/v1/albums", {"name": "Forged"}, content_type="application/json")
    assert refused.status_code == 403 and refused.json() == {"error": "CSRF check failed."}
    client.get("/")  # a page sets the CSRF cookie, as the browser gets it
    made = client.post("/api/v1/albums", {"name": "From a page"}, content_type="application/json",
                       HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert made.status_code == 201


def test_too_many_calls_answer_429_with_retry_after(user, alice_token, settings):
    cache.clear()  # the throttle's call history: none from the tests before
    settings.VISAGE_API_RATE = "3/m"
    client = Client()
    assert [client.get("/api/v1/albums", **bearer(alice_token)).status_code for _ in range(3)] == [200] * 3
    answer = client.get("/api/v1/albums", **bearer(alice_token))
    assert answer.status_code == 429
    assert answer.json() == {"error": "Too many requests: wait a little and try again."}
    assert 1 <= int(answer["Retry-After"]) <= 61
    # Per user: another one is not slowed by alice's calls.
    bobs_token = token_create(user=make_user("bob"), name="phone")[1]
    assert client.get("/api/v1/albums", **bearer(bobs_token)).status_code == 200


def test_bad_input_answers_400_naming_the_field(user, alice_token):
    client = Client()
    missing = client.post("/api/v1/albums", {}, content_type="application/json", **bearer(alice_token))
    assert missing.status_code == 400
    assert missing.json() == {"error": "'name': Field required", "fields": [{"field": "name", "message": "Field required"}]}
    paged = client.get("/api/v1/albums", {"limit": 0}, **bearer(alice_token))
    assert paged.status_code == 400 and paged.json()["fields"][0]["field"] == "limit"
    not_json = client.post("/api/v1/albums", "{", content_type="application/json", **bearer(alice_token))
    assert not_json.status_code == 400 and "error" in not_json.json()
    assert client.get("/api/v1/albums/999999", **bearer(alice_token)).json() == {"error": "No album with id 999999."}
