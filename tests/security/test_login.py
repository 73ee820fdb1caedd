"""Signing in is throttled per user name and address (django-axes): after AXES_FAILURE_LIMIT
failures in a row the pair is locked out, with a page that says so, even for the right
password; another address, or another user, is not locked out."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def editor(django_user_model):
    return django_user_model.objects.create_superuser(
        "editor", "editor@example.org", "a long right password"
    )


def sign_in(client, password: str, username: str = "editor", **meta):
    return client.post(LOGIN, {"username": username, "password": password}, **meta)


def test_repeated_failures_lock_the_user_out_from_that_address(client, settings, editor):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "guess").status_code == 200  # the form again, with its error
    # The failure that reaches the limit is answered with the lock-out, and so is the right
    # password after it.
    assert sign_in(client, "guess").status_code == 429
    locked = sign_in(client, "a long right password")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert 'id="locked-out"' in page
    assert (
        f"Signing in as “editor” from your address is paused after "
        f"{settings.AXES_FAILURE_LIMIT} failed attempts in a row." in page
    )
    assert "Try again in 15 minutes." in page
    assert "_auth_user_id" not in client.session
    # Another address, and another user from this one, still sign in.
    assert sign_in(client, "a long right password", REMOTE_ADDR="203.0.113.9").status_code == 302


def test_without_the_throttle_guessing_goes_on_forever(client, settings, editor):
    """What the throttle stops: with it off, the guess after the limit still gets in."""
    settings.AXES_ENABLED = False
    for _ in range(settings.AXES_FAILURE_LIMIT + 5):
        assert sign_in(client, "guess").status_code == 200
    assert sign_in(client, "a long right password").status_code == 302


def test_a_success_before_the_limit_starts_the_count_again(client, settings, editor):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "guess")
    assert sign_in(client, "a long right password").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "guess")
    assert sign_in(client, "a long right password").status_code == 302


def test_a_forged_forwarded_address_does_not_escape_the_lock(client, settings, editor):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "guess", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    # No proxy is configured: the header is the client's own and is not believed.
    forged = sign_in(client, "a long right password", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert forged.status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(client, settings, editor):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "guess", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5", **proxy)
    locked = sign_in(client, "a long right password", HTTP_X_FORWARDED_FOR="203.0.113.5", **proxy)
    assert locked.status_code == 429
    # Another visitor behind the same proxy is not locked out with the attacker.
    other = sign_in(client, "a long right password", HTTP_X_FORWARDED_FOR="192.0.2.7", **proxy)
    assert other.status_code == 302
