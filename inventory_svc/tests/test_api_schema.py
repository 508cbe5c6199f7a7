"""The service's OpenAPI schema documents every operation of its API, in the project's conventions
(chassis.schema); the live stack is checked against it by schemathesis (tests/e2e)."""

from chassis.testing import api_schema_problems


def test_the_schema_documents_every_operation_with_its_answers_and_examples():
    assert api_schema_problems(public={"/api/v1/catalog"}) == []
