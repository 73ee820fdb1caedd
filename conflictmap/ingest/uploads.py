"""The upload handler that enforces ingestion's size limit (limits.py) while an upload arrives.

Django keeps an upload above FILE_UPLOAD_MAX_MEMORY_SIZE in a temporary file and has no limit of
its own on a file's size, so without the handler a 10 GB upload would fill the disk before the
form could say no. The handler stops storing a file at the limit; the form then says so.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.csrf import csrf_exempt

from .limits import max_upload_bytes


class SizeLimitHandler(FileUploadHandler):
    """First among the upload handlers: past the limit, the file is skipped (its remaining bytes
    read and dropped, never stored) and noted on the request as `refused_uploads`."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        request.refused_uploads = {}

    def new_file(self, field_name, file_name, content_type, content_length, charset=None,
                 content_type_extra=None):  # fmt: skip
        super().new_file(field_name, file_name, content_type, content_length, charset)
        if content_length is not None and content_length > self.limit:
            self._refuse()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            self._refuse()
        return raw_data

    def _refuse(self) -> None:
        self.request.refused_uploads[self.field_name] = self.file_name
        raise SkipFile

    def file_complete(self, file_size: int) -> None:
        return None  # the next handlers store the file


def limit_uploads(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Put SizeLimitHandler in front of the request's upload handlers before anything reads the
    body. CSRF middleware would read it first, so this wrapper is exempt from the middleware and
    the wrapped view must check CSRF itself (the admin's admin_view does). A form whose fields
    (the pasted text) exceed DATA_UPLOAD_MAX_MEMORY_SIZE is sent back with a message saying so,
    rather than Django's bare 400."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        request.upload_handlers.insert(0, SizeLimitHandler(request, max_upload_bytes()))
        if request.method == "POST":
            try:
                request.POST  # noqa: B018 (parse the body now, with the handler in place)
            except RequestDataTooBig:
                limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
                messages.error(
                    request,
                    f"The form's text is larger than {limit:,} bytes "
                    "(DATA_UPLOAD_MAX_MEMORY_SIZE): upload a long report as a file instead.",
                )
                return HttpResponseRedirect(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped
