from flask.testing import FlaskClient

from ..world import CaseBuilder


def test_pages_render_for_the_coordinator(coordinator_client: FlaskClient, builder: CaseBuilder) -> None:
    case = builder.case_in("folj_upp")
    for path in ["/", "/arenden", "/arenden/nytt", f"/arenden/{case.id}", f"/arenden/{case.id}/sip-dokument",
                 "/arbetsfloden/sip", f"/arenden/{case.id}/plan"]:
        response = coordinator_client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        print(path, response.status_code)
