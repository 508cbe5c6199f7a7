"""Page-number pagination that every service's list endpoints share: `?page=` and `?page_size=`.

Answers `{count, next, previous, results}`; a page past the end is 404 in the error shape.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 500


def paginated_response(
    *, queryset: QuerySet[Model], serializer_class: type[Serializer[Any]], request: Request, view: APIView
) -> Response:
    """One page of `queryset`, serialized with `serializer_class`, in the paginated envelope."""
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
