"""identity_svc's pages: sign up, sign in, sign out, change the password, and the account's own page.
Every form is CSRF-protected; sign-in and sign-up are limited per client address and account
(accounts.throttling), and django-axes locks an account after repeated failures."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods
from oauth2_provider.views import TokenView

from accounts import services, throttling
from accounts.forms import SignUpForm
from chassis.errors import THROTTLED, error_response

THROTTLED_TEMPLATE = "accounts/throttled.html"


def _throttled(request: HttpRequest) -> HttpResponse:
    response = render(request, THROTTLED_TEMPLATE, status=429)
    response["Retry-After"] = "60"
    return response


class SignInView(auth_views.LoginView):
    template_name = "accounts/sign_in.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if throttling.sign_in_limited(request):
            return _throttled(request)
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["form"].fields["username"].label = "Email"
        return context


class SignOutView(auth_views.LogoutView):
    template_name = "accounts/signed_out.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    """A new password ends every grant made with the old one: the user's refresh tokens (and the
    access tokens they were issued with) are revoked, so a stolen session cannot outlive the change."""

    template_name = "accounts/password_change.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if throttling.password_change_limited(request, str(request.user.get_username())):
            return _throttled(request)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        services.grants_revoke(user=form.user)
        return response

    def get_success_url(self) -> str:
        messages.success(self.request, "Your password is changed.")
        return reverse("account")


def _next(request: HttpRequest) -> str:
    """Where to go once signed in: the `next` the page was opened with, if it stays on this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else ""


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    """A new customer. The answer is the same whether the address was new or already registered."""
    form = SignUpForm(request.POST or None)
    if request.method == "POST":
        if throttling.sign_up_limited(request):
            return _throttled(request)
        if form.is_valid():
            services.customer_sign_up(
                email=form.cleaned_data["email"], password=form.cleaned_data["password"]
            )
            messages.success(request, "If this address was new, its account is ready: sign in with it.")
            sign_in = reverse("sign-in")
            target = _next(request)
            return HttpResponseRedirect(f"{sign_in}?{urlencode({'next': target})}" if target else sign_in)
    return render(request, "accounts/sign_up.html", {"form": form, "next": _next(request)})


@never_cache
@login_required
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/account.html", {"account": request.user})


_token_view = TokenView.as_view()


@csrf_exempt
def throttled_token_view(request: HttpRequest) -> HttpResponse:
    """django-oauth-toolkit's token endpoint, behind the limits per client address and per client."""
    if request.method == "POST" and throttling.token_limited(request):
        refusal = error_response(429, THROTTLED, "Too many token requests; wait a minute, then retry.")
        refusal["Retry-After"] = "60"
        return refusal
    response: HttpResponse = _token_view(request)
    return response
