"""Give a development install an editor account, so /admin/ can be tried at once."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "With DEBUG on and no superuser yet, create 'admin' with a random password kept in "
        "var/admin-password. Does nothing in production (DEBUG off)."
    )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            self.stdout.write("DEBUG is off: create editors with `manage.py createsuperuser`.")
            return
        path = settings.BASE_DIR / "var" / "admin-password"
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            if path.exists():
                self.stdout.write(f"editor login: admin / password in {path}")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "admin@localhost", password)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(password + "\n")
        path.chmod(0o600)
        self.stdout.write(f"created editor login: admin / {password} (kept in {path})")
