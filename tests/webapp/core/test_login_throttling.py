"""Sign-in is refused for a while after repeated failures, per username and per address."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.test import RequestFactory
from django.urls import reverse

from tests.conftest import make_user
from webapp.core.models import LoginFailure
from webapp.core.throttling import client_ip

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # make_user's default
HOME = "203.0.113.5"


@pytest.fixture(autouse=True)
def limits(settings):
    # Dozens of sign-ins per test: the production hasher's deliberate slowness adds nothing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.VISAGE_LOGIN_FAILURE_LIMIT = 5
    settings.VISAGE_LOGIN_IP_FAILURE_LIMIT = 8
    settings.VISAGE_LOGIN_FAILURE_WINDOW_S = 15 * 60
    settings.VISAGE_TRUSTED_PROXIES = 0


def sign_in(client, username: str, password: str, *, ip: str = HOME, path: str = "login"):
    return client.post(reverse(path), {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, username: str, times: int, *, ip: str = HOME) -> None:
    for _ in range(times):
        response = sign_in(client, username, "wrong password", ip=ip)
        assert response.status_code == 200
        assert "didn&#x27;t match" in response.content.decode()


def age_failures(**delta) -> None:
    """Move every recorded failure back in time, as if the time had passed."""
    LoginFailure.objects.update(failed_at=F("failed_at") - timedelta(**delta))


def test_five_failures_lock_the_account_even_against_the_right_password(client, user):
    fail(client, "alice", 5)

    response = sign_in(client, "alice", PASSWORD)

    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed sign-in attempts. Please wait 15 minutes before trying again." in page
    assert "didn&#x27;t match" not in page
    assert not signed_in(client)
    # Refused attempts are not counted, so they do not stretch the lock.
    assert LoginFailure.objects.filter(username="alice").count() == 5


def test_four_failures_do_not_lock(client, user):
    fail(client, "alice", 4)
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 302 and signed_in(client)


def test_the_lock_lifts_once_the_failures_are_a_window_old(client, user):
    fail(client, "alice", 5)
    age_failures(minutes=14)
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert "Please wait 1 minute before" in response.content.decode()

    age_failures(minutes=1, seconds=1)
    response = sign_in(client, "alice", PASSWORD)

    assert response.status_code == 302 and signed_in(client)
    assert not LoginFailure.objects.filter(username="alice").exists()


def test_a_successful_sign_in_clears_the_count(client, user):
    fail(client, "alice", 4)
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    client.logout()

    fail(client, "alice", 4)  # would be failures 5 to 8 without the reset

    assert sign_in(client, "alice", PASSWORD).status_code == 302


def test_other_spellings_of_the_name_count_for_the_same_account(client, user):
    for spelling in ["Alice", "ALICE", " alice ", "alIce", "alice"]:
        sign_in(client, spelling, "wrong password")
    assert sign_in(client, "alice", PASSWORD).status_code == 429


def test_a_locked_account_does_not_lock_others(client, user, other_user):
    fail(client, "alice", 5)
    assert sign_in(client, "bob", PASSWORD).status_code == 302


def test_many_names_from_one_address_lock_that_address_only(client, user):
    for index in range(8):
        sign_in(client, f"guess{index}", "wrong password", ip="198.51.100.9")

    refused = sign_in(client, "alice", PASSWORD, ip="198.51.100.9")
    assert refused.status_code == 429 and not signed_in(client)
    assert sign_in(client, "alice", PASSWORD, ip=HOME).status_code == 302


def test_the_admin_sign_in_page_is_locked_too(client, db):
    make_user("root", is_staff=True, is_superuser=True)
    fail(client, "root", 5)
    response = client.post(reverse("admin:login"), {"username": "root", "password": PASSWORD}, REMOTE_ADDR=HOME)
    assert response.status_code == 200
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert not signed_in(client)


def test_failures_of_another_process_count(client, user):
    """The count lives in the database, so rows written by any web server process lock."""
    LoginFailure.objects.bulk_create([LoginFailure(username="alice", client_ip="192.0.2.1") for _ in range(5)])
    assert sign_in(client, "alice", PASSWORD).status_code == 429


def test_failures_older_than_the_window_are_pruned(client, user):
    fail(client, "alice", 3)
    age_failures(minutes=16)
    fail(client, "bob", 1)
    assert list(LoginFailure.objects.values_list("username", flat=True)) == ["bob"]


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "1.2.3.4", "10.0.0.2"),  # no proxy: a client-written header is ignored
        (1, "1.2.3.4, 198.51.100.7", "198.51.100.7"),  # the address our proxy saw
        (2, "198.51.100.7, 10.0.0.9", "198.51.100.7"),
        (1, "not-an-address", "10.0.0.2"),
        (2, "198.51.100.7", "10.0.0.2"),  # fewer hops than proxies: not trusted
    ],
)
def test_client_address_behind_trusted_proxies(settings, proxies, forwarded, expected):
    settings.VISAGE_TRUSTED_PROXIES = proxies
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
