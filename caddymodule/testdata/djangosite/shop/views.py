import json
import threading

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse
from django.shortcuts import render
from django.views.generic import TemplateView

# What the tests read back: how many requests reached the account page and
# what the last one carried.
_lock = threading.Lock()
_account = {"count": 0, "cookies": [], "headers": []}


class AccountView(LoginRequiredMixin, TemplateView):
    template_name = "account.html"

    def dispatch(self, request, *args, **kwargs):
        with _lock:
            _account["count"] += 1
            _account["cookies"] = sorted(request.COOKIES)
            _account["headers"] = sorted(
                k for k in request.META if k.startswith("HTTP_")
            )
        return super().dispatch(request, *args, **kwargs)


def home(request):
    return render(request, "article.html", {"kind": "Home", "slug": "home"})


def article(request, slug, kind):
    return render(request, "article.html", {"kind": kind, "slug": slug})


def account_requests(request):
    with _lock:
        return HttpResponse(json.dumps(_account), content_type="application/json")
